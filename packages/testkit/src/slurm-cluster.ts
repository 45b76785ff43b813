/**
 * A real one-node SLURM cluster for tests (Debian's Slurm 22.05: slurmctld, slurmd, munge), the
 * way the Redis harness starts a real redis-server: its own folder, its own munged socket, free
 * ports for slurmctld and slurmd, fake GPUs as character devices (`/dev/fakegpuN`, listed in
 * gres.conf, so SLURM hands them out and sets CUDA_VISIBLE_DEVICES and SLURM_JOB_GPUS as on a GPU
 * node), every daemon in the foreground as a child of the test. Clients (sbatch, squeue, scancel,
 * scontrol) reach it through `env.SLURM_CONF`.
 *
 * The settings that make one node behave: `proctrack/pgid` and `task/none` (no cgroups or
 * systemd), `select/cons_tres` with `CR_Core_Memory` and `DefMemPerCPU` (without it the first job
 * takes all the memory and jobs run one at a time), `GresTypes=gpu`. No slurmdbd: sacct has
 * nothing to read here. Needs root (slurmd runs jobs as their users; mknod) and the packages; where
 * either is missing, `slurmUnavailable()` says why, for a test to skip with.
 *
 * @example
 * const slurm = await startSlurmCluster({ gpus: 4 });
 * execFileSync('sbatch', ['--gres=gpu:1', '--wrap', 'nvidia-smi'], { env: { ...process.env, ...slurm.env } });
 * await slurm.stop();
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';
import { makeTempDir, removeDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);
const BINARIES = ['/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/sbin/munged', '/usr/bin/sbatch'];

export interface SlurmClusterOptions {
  /** Fake GPUs on the node (default 4). */
  gpus?: number;
  /** Memory a job gets per CPU when it asks for none, MiB (default 512). */
  defMemPerCpuMiB?: number;
  /** More slurm.conf lines (`SchedulerParameters=...`). */
  extraConf?: readonly string[];
}

export interface SlurmCluster {
  readonly dir: string;
  /** The node's name (this host's name, as slurmd registers). */
  readonly node: string;
  /** `SLURM_CONF` for the client commands. */
  readonly env: Readonly<Record<string, string>>;
  /** Runs a client command (`squeue`, `scontrol` ...) against this cluster; its stdout. */
  command(file: string, args: readonly string[]): Promise<string>;
  /**
   * Stops slurmctld (SIGTERM: it saves its state first; SIGKILL: as a crash, which may lose what it
   * had not saved yet) and starts it again on its saved state.
   */
  restartController(signal?: NodeJS.Signals): Promise<void>;
  /** Cancels every job and waits for them to go, stops the daemons, removes the folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** Why a real SLURM cannot run here, or null when it can. */
export async function slurmUnavailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'a SLURM cluster needs root (slurmd, mknod)';
  for (const binary of BINARIES) {
    const ok = await access(binary, constants.X_OK).then(
      () => true,
      () => false,
    );
    if (!ok) return `${binary} is missing (apt-get install slurmctld slurmd slurm-client munge)`;
  }
  return null;
}

async function fakeGpus(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const device = `/dev/fakegpu${i}`;
    const exists = await access(device).then(
      () => true,
      () => false,
    );
    if (!exists) await run('mknod', [device, 'c', '1', '3']).catch(() => undefined); // raced: fine
  }
}

function slurmConf(
  dir: string,
  node: string,
  ports: [number, number],
  options: SlurmClusterOptions,
  cpus: number,
  memoryMiB: number,
): string {
  const gpus = options.gpus ?? 4;
  return [
    `ClusterName=gf${Math.random().toString(36).slice(2, 8)}`,
    `SlurmctldHost=${node}`,
    `SlurmctldPort=${ports[0]}`,
    `SlurmdPort=${ports[1]}`,
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    `AuthInfo=socket=${join(dir, 'munge', 'munge.socket')}`,
    'CredType=cred/munge',
    `StateSaveLocation=${join(dir, 'state')}`,
    `SlurmdSpoolDir=${join(dir, 'spool')}`,
    `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
    `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
    `SlurmctldLogFile=${join(dir, 'slurmctld.log')}`,
    `SlurmdLogFile=${join(dir, 'slurmd.log')}`,
    'ProctrackType=proctrack/pgid',
    'TaskPlugin=task/none',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core_Memory',
    `DefMemPerCPU=${options.defMemPerCpuMiB ?? 512}`,
    gpus > 0 ? 'GresTypes=gpu' : '',
    'ReturnToService=2',
    'MpiDefault=none',
    'SchedulerType=sched/backfill',
    'JobCompType=jobcomp/none',
    'AccountingStorageType=accounting_storage/none',
    'SlurmctldTimeout=30',
    'SlurmdTimeout=30',
    'KillWait=2',
    ...(options.extraConf ?? []),
    `NodeName=${node} CPUs=${cpus} RealMemory=${memoryMiB}${gpus > 0 ? ` Gres=gpu:${gpus}` : ''} State=UNKNOWN`,
    `PartitionName=gpu Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
    '',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

export async function startSlurmCluster(options: SlurmClusterOptions = {}): Promise<SlurmCluster> {
  const why = await slurmUnavailable();
  if (why) throw new Error(`no SLURM here: ${why}`);
  const dir = await makeTempDir('gpufleet-slurm-');
  await chmod(dir, 0o755); // munged, running as munge, reaches its socket through it
  const munge = join(dir, 'munge');
  await Promise.all([mkdir(join(dir, 'state')), mkdir(join(dir, 'spool')), mkdir(munge)]);
  await chown(munge, ...(await mungeIds()));
  const gpus = options.gpus ?? 4;
  await fakeGpus(gpus);
  const node = hostname();
  const probe = (await run('/usr/sbin/slurmd', ['-C'])).stdout;
  const cpus = Number(/CPUs=(\d+)/.exec(probe)?.[1] ?? 1);
  const memoryMiB = Number(/RealMemory=(\d+)/.exec(probe)?.[1] ?? 1024);
  const conf = join(dir, 'slurm.conf');
  await writeFile(conf, slurmConf(dir, node, [await freePort(), await freePort()], options, cpus, memoryMiB));
  await writeFile(
    join(dir, 'gres.conf'),
    gpus > 0 ? `NodeName=${node} Name=gpu File=/dev/fakegpu[0-${gpus - 1}]\n` : '',
  );
  const env = { SLURM_CONF: conf };
  const children = new Set<ChildProcess>();
  const daemon = (file: string, args: string[], user?: string): ChildProcess => {
    const child = user
      ? spawn('runuser', ['-u', user, '--', file, ...args], {
          stdio: 'ignore',
          env: { ...process.env, ...env },
        })
      : spawn(file, args, { stdio: 'ignore', env: { ...process.env, ...env } });
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  };
  const mungeArgs = [
    '-F',
    `--socket=${join(munge, 'munge.socket')}`,
    `--pid-file=${join(munge, 'munged.pid')}`,
    `--log-file=${join(munge, 'munged.log')}`,
    `--seed-file=${join(munge, 'seed')}`,
    '--key-file=/etc/munge/munge.key',
  ];
  daemon('/usr/sbin/munged', mungeArgs, 'munge');
  await waitFor(
    () =>
      access(join(munge, 'munge.socket')).then(
        () => true,
        () => false,
      ),
    { timeoutMs: 10_000 },
  );
  let controller = daemon('/usr/sbin/slurmctld', ['-D', '-i', '-f', conf]);
  daemon('/usr/sbin/slurmd', ['-D', '-f', conf]);
  const command = async (file: string, args: readonly string[]): Promise<string> =>
    (await run(file, [...args], { env: { ...process.env, ...env } })).stdout;
  const idle = (): Promise<unknown> =>
    waitFor(async () => /idle|mix|alloc/.test(await command('sinfo', ['-h', '-o', '%T']).catch(() => '')), {
      timeoutMs: 30_000,
    });
  await idle();
  let stopped = false;
  return {
    dir,
    node,
    env,
    command,
    async restartController(signal: NodeJS.Signals = 'SIGTERM') {
      const exited = new Promise((resolve) => controller.once('exit', resolve));
      controller.kill(signal);
      await exited;
      controller = daemon('/usr/sbin/slurmctld', ['-D', '-f', conf]); // no -i: it recovers its state
      await idle();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // Every job cancelled and gone before slurmd stops: a job step left behind would outlive the test.
      await command('scancel', ['--full', '--quiet', `--user=root`]).catch(() => undefined);
      await waitFor(async () => (await command('squeue', ['-h']).catch(() => '')).trim() === '', {
        timeoutMs: 15_000,
      }).catch(() => undefined);
      const exits = [...children].map((child) => new Promise((resolve) => child.once('exit', resolve)));
      for (const child of children) child.kill('SIGTERM');
      await Promise.race([Promise.all(exits), new Promise((resolve) => setTimeout(resolve, 5_000))]);
      for (const child of children) child.kill('SIGKILL');
      await removeDir(dir);
    },
  };
}

async function mungeIds(): Promise<[number, number]> {
  const uid = Number((await run('id', ['-u', 'munge'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'munge'])).stdout.trim());
  return [uid, gid];
}
