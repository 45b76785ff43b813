/**
 * The SLURM side of bench/slurm.ts: the cluster's settings (testkit's startSlurmCluster plus a
 * partition and the scheduler's parameters), sbatch of the stamp script, the queue, and gpufleet's
 * two shapes on it: a pilot (`gpufleet-slurm launch`, the built bin: a tracker as a SLURM job on the
 * GPUs SLURM gave it) and a backend tracker (GPUFLEET_BACKEND=slurm, the built gpufleet-tracker as
 * a process here: each task it takes is a SLURM job).
 *
 * Every job goes to the partition `bench`, OverSubscribe=FORCE:8: jobs may share CPU cores (up to 8
 * a core) but never GPUs. Without it a job holds a whole core, and on a machine with fewer cores
 * than GPUs (this 2-core VM) SLURM could run only as many jobs at once as there are cores, which
 * would measure the VM, not the scheduler.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { listTrackers, queueKeys } from '@gpufleet/core';
import type { SlurmCluster } from '@gpufleet/testkit';
import { benchTaskInit } from './gpufleet.js';
import { startTracker, type WorkerProcess } from './worker-process.js';

const run = promisify(execFile);
const LAUNCH = fileURLToPath(new URL('../../packages/tracker/bin/gpufleet-slurm.js', import.meta.url));

export const PARTITION = 'bench';

/** The slurm.conf lines the bench adds (startSlurmCluster's extraConf); a later key wins. */
export function benchSlurmConf(schedulerParameters: string): string[] {
  return [
    ...(schedulerParameters ? [`SchedulerParameters=${schedulerParameters}`] : []),
    `PartitionName=${PARTITION} Nodes=${hostname()} OverSubscribe=FORCE:8 MaxTime=INFINITE State=UP`,
  ];
}

/** The scheduler's settings as slurmctld runs with them (`scontrol show config`). */
export async function schedulerSettings(slurm: SlurmCluster): Promise<Record<string, string>> {
  const text = await slurm.command('scontrol', ['show', 'config']);
  const wanted = [
    'SchedulerType',
    'SchedulerParameters',
    'SelectType',
    'SelectTypeParameters',
    'SLURM_VERSION',
  ];
  const settings: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+=\s+(.*)$/.exec(line);
    if (m && wanted.includes(m[1] as string)) settings[m[1] as string] = (m[2] as string).trim();
  }
  return settings;
}

export interface SbatchTimes {
  jobId: string;
  /** Just before sbatch was started, epoch ms. */
  submitMs: number;
  /** sbatch answered (the job is in slurmctld's queue). */
  acceptedMs: number;
}

/**
 * `sbatch` of the stamp script on `gpus` GPUs with a time limit of `minutes`, output to /dev/null,
 * and `extra` flags (`--export=NONE`).
 */
export async function sbatchStamp(
  slurm: SlurmCluster,
  script: string,
  args: readonly string[],
  gpus: number,
  minutes: number,
  extra: readonly string[] = [],
): Promise<SbatchTimes> {
  const flags = [`--partition=${PARTITION}`, `--gres=gpu:${gpus}`, `--time=${minutes}`, ...extra];
  const submitMs = Date.now();
  const out = await slurm.command('sbatch', [
    '--parsable',
    ...flags,
    '--job-name=bench-stamp',
    '--output=/dev/null',
    script,
    ...args,
  ]);
  const jobId = out.trim().split(';')[0] ?? '';
  if (!/^\d+$/.test(jobId)) throw new Error(`sbatch answered ${JSON.stringify(out)}`);
  return { jobId, submitMs, acceptedMs: Date.now() };
}

/**
 * Which of SLURM's schedulers started each of `ids`, from slurmctld's log: the main one (`sched:
 * Allocate JobId=N`, at a submission, a job's end or its periodic pass) or backfill
 * (`sched/backfill: _start_job: Started JobId=N`).
 */
export async function jobStartsBy(
  slurm: SlurmCluster,
  ids: readonly string[],
): Promise<{ main: number; backfill: number; unknown: number }> {
  const log = await readFile(join(slurm.dir, 'slurmctld.log'), 'utf8').catch(() => '');
  const main = new Set([...log.matchAll(/sched: Allocate JobId=(\d+)/g)].map((m) => m[1]));
  const backfill = new Set(
    [...log.matchAll(/sched\/backfill: _start_job: Started JobId=(\d+)/g)].map((m) => m[1]),
  );
  const count = (set: Set<string | undefined>): number => ids.filter((id) => set.has(id)).length;
  const [byMain, byBackfill] = [count(main), count(backfill)];
  return { main: byMain, backfill: byBackfill, unknown: ids.length - byMain - byBackfill };
}

/** The ids of the jobs in the queue (pending, running, completing). */
export async function queuedJobs(slurm: SlurmCluster): Promise<string[]> {
  return (await slurm.command('squeue', ['-h', '-o', '%i'])).split('\n').filter(Boolean);
}

/** Waits until none of `ids` (default: no job at all) is in the queue. */
export async function waitForJobsGone(
  slurm: SlurmCluster,
  ids: readonly string[] | null,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = (await queuedJobs(slurm)).filter((id) => ids === null || ids.includes(id));
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`jobs ${left.join(', ')} still queued after ${timeoutMs} ms`);
    await delay(100);
  }
}

/** What gpufleet on the cluster shares: Redis, the prefix, the executers, a folder for its files. */
export interface GpufleetSide {
  redis: Redis;
  redisUrl: string;
  prefix: string;
  executers: string;
  dir: string;
}

export interface Pilot {
  jobId: string;
  /** `gpufleet-slurm launch` started → its tracker registered in Redis, ms. */
  startMs: number;
  stop(): Promise<void>;
}

/** One pilot job holding `gpus` GPUs; resolves once its tracker has registered. */
export async function launchPilot(slurm: SlurmCluster, side: GpufleetSide, gpus: number): Promise<Pilot> {
  const env = {
    ...process.env,
    ...slurm.env,
    REDIS_URL: side.redisUrl,
    GPUFLEET_PREFIX: side.prefix,
    GPUFLEET_EXECUTERS: side.executers,
    ARTIFACT_STORE: `${side.dir}/pilot-artifacts`,
    GPUFLEET_WORKDIR: `${side.dir}/pilot-work`,
    GPUFLEET_TASK_INIT: (await benchTaskInit()) ?? 'off',
    GPUFLEET_CPU_SLOTS: '0',
    LOG_LEVEL: 'info',
  };
  const began = Date.now();
  const { stdout } = await run(
    process.execPath,
    [
      ...[LAUNCH, 'launch', '--gpus', String(gpus), '--partition', PARTITION, '--time', '120'],
      ...['--warning', '60', '--job-name', 'bench-pilot', '--chdir', side.dir],
      ...['--output', `${side.dir}/pilot-%j.out`],
    ],
    { env },
  );
  const jobId = stdout.trim();
  const keys = queueKeys(side.prefix, 'default');
  const deadline = Date.now() + 60_000;
  while ((await listTrackers(side.redis, keys)).length === 0) {
    if (Date.now() > deadline) throw new Error(`pilot job ${jobId}: no tracker registered in 60 s`);
    await delay(20);
  }
  const startMs = Date.now() - began;
  return {
    jobId,
    startMs,
    async stop() {
      // SIGTERM to the batch shell, which is the tracker (`exec`): it stops and the job ends.
      await slurm.command('scancel', [jobId]).catch(() => undefined);
      await waitForJobsGone(slurm, [jobId], 30_000);
    },
  };
}

/**
 * A tracker fronting the partition: up to `gpus` GPUs' worth of jobs in SLURM at once, each job's
 * end seen by `scontrol show job` every `pollMs`.
 */
export async function startBackendTracker(
  slurm: SlurmCluster,
  side: GpufleetSide,
  gpus: number,
  pollMs: number,
): Promise<WorkerProcess> {
  return startTracker({
    redisUrl: side.redisUrl,
    prefix: side.prefix,
    name: 'bench-backend',
    dir: side.dir,
    cpuSlots: 0,
    env: {
      ...slurm.env,
      GPUFLEET_EXECUTERS: side.executers,
      GPUFLEET_BACKEND: 'slurm',
      GPUFLEET_SLURM_GPUS: String(gpus),
      GPUFLEET_SLURM_CPU_JOBS: '0',
      GPUFLEET_SLURM_POLL_MS: String(pollMs),
      GPUFLEET_SLURM_PARTITION: PARTITION,
    },
  });
}
