// Trackers as SLURM jobs, against a real one-node SLURM (testkit's startSlurmCluster: slurmctld,
// slurmd and munged, four fake GPUs as character devices): `gpufleet-slurm launch` submits a job
// array whose jobs each run a tracker named after its job id on the GPUs SLURM gave it; tasks
// submitted to the queue run on those GPUs; SLURM's time-limit warning (`--signal=B:USR1@secs`, and
// the same signal sent with scancel) drains a pilot, its running task handed back and run by the
// other; an idle pilot ends its job. Skipped, saying why, where SLURM cannot run (not root, no
// packages: `.ci/run` installs them).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelTask, enqueue, getTask, listTrackers, queueKeys, type TaskRecord } from '@gpufleet/core';
import {
  slurmUnavailable,
  startSlurmCluster,
  uniquePrefix,
  useRedis,
  useTempDirs,
  waitFor,
  type SlurmCluster,
} from '@gpufleet/testkit';
import { FIXTURE_EXECUTERS, waitForFinal } from './helpers/fleet.js';

const run = promisify(execFile);
const LAUNCH = fileURLToPath(new URL('../bin/gpufleet-slurm.js', import.meta.url));
const unavailable = await slurmUnavailable();
const redis = useRedis();
const temp = useTempDirs();

describe.skipIf(unavailable !== null)(
  `trackers as SLURM jobs${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let slurm: SlurmCluster;
    beforeAll(async () => {
      slurm = await startSlurmCluster({ gpus: 4 });
    }, 60_000);
    afterAll(async () => slurm?.stop(), 30_000);

    async function launch(args: string[]) {
      const prefix = uniquePrefix();
      const dir = await temp.make();
      const env = {
        ...process.env,
        ...slurm.env,
        REDIS_URL: redis.server.url,
        GPUFLEET_PREFIX: prefix,
        GPUFLEET_EXECUTERS: FIXTURE_EXECUTERS,
        ARTIFACT_STORE: await temp.make(),
        GPUFLEET_LEASE_MS: '3000',
        GPUFLEET_ALIVE_MS: '1500',
        GPUFLEET_SWEEP_MS: '300',
        GPUFLEET_KILL_GRACE_MS: '500',
        LOG_LEVEL: 'info',
      };
      const { stdout } = await run(
        process.execPath,
        [LAUNCH, 'launch', '--chdir', dir, '--output', `${dir}/pilot-%j.out`, ...args],
        { env },
      );
      const client = redis.server.client();
      const keys = queueKeys(prefix, 'default');
      const submit = async (spec: Record<string, unknown>): Promise<string> =>
        (await enqueue({ redis: client, prefix }, { executer: 'probe', ...spec })).id;
      const jobs = async (): Promise<string[]> =>
        (await slurm.command('squeue', ['-h', '-o', '%A'])).split('\n').filter(Boolean);
      return { arrayJob: stdout.trim(), client, keys, submit, jobs, dir };
    }

    it('runs a tracker per array job on the GPUs SLURM gave it, and tasks on those GPUs', async () => {
      const pilots = await launch([
        '--gpus',
        '2',
        '--array',
        '0-1',
        '--time',
        '10',
        '--warning',
        '5',
        '--idle-exit',
        '3s',
      ]);
      const trackers = await waitFor(
        async () => {
          const live = await listTrackers(pilots.client, pilots.keys);
          return live.length === 2 ? live : null;
        },
        { timeoutMs: 60_000, message: 'two pilot trackers registered' },
      );
      const jobIds = await pilots.jobs();
      expect(trackers.map((t) => t.name).sort()).toEqual(jobIds.map((id) => `slurm-${id}`).sort());
      // SLURM gave each job two of the four GPUs: together all four, none twice.
      expect(trackers.flatMap((t) => t.gpus).sort()).toEqual([0, 1, 2, 3]);
      const ids = await Promise.all(
        [0, 1, 2, 3].map(() => pilots.submit({ gpus: 1, params: { sleepMs: 800 } })),
      );
      const done: TaskRecord[] = await Promise.all(
        ids.map((id) => waitForFinal(pilots.client, pilots.keys, id, 60_000)),
      );
      expect(done.map((r) => r.status)).toEqual(Array(4).fill('succeeded'));
      for (const record of done) {
        const tracker = trackers.find((t) => t.name === record.tracker);
        expect(tracker?.gpus).toEqual(expect.arrayContaining(record.gpuIds));
      }
      // Idle for 3 s, each pilot stops and its job ends.
      await waitFor(async () => (await pilots.jobs()).length === 0, {
        timeoutMs: 60_000,
        message: 'idle pilots ended',
      });
    }, 150_000);

    it('drains a pilot on the time-limit warning: its running task goes back and runs on the other pilot', async () => {
      const pilots = await launch(['--gpus', '1', '--array', '0-1', '--time', '10', '--warning', '4']);
      await waitFor(async () => (await listTrackers(pilots.client, pilots.keys)).length === 2, {
        timeoutMs: 60_000,
      });
      const long = await pilots.submit({ gpus: 1, params: { sleepMs: 120_000 } });
      const first = await waitFor(
        async () => {
          const record = await getTask(pilots.client, pilots.keys, long);
          return record?.status === 'running' && record.tracker ? record : null;
        },
        { timeoutMs: 30_000 },
      );
      const jobId = (first.tracker ?? '').replace('slurm-', '');
      // What `--signal=B:USR1@4` sends 4 s before the limit, sent now (the next test waits for SLURM's
      // own), to that pilot alone. The array's first task has the array's own job id, and `scancel
      // <array job id>` signals every task of the array: name the task as `<array>_<index>`.
      const shown = await slurm.command('scontrol', ['show', 'job', '-o', jobId]);
      const [, arrayJob, arrayTask] = /ArrayJobId=(\d+) ArrayTaskId=(\d+)/.exec(shown) ?? [];
      expect(arrayTask, shown).toBeDefined();
      await slurm.command('scancel', ['--batch', '--signal=USR1', `${arrayJob}_${arrayTask}`]);
      const moved = await waitFor(
        async () => {
          const record = await getTask(pilots.client, pilots.keys, long);
          return record?.status === 'running' && record.tracker !== first.tracker ? record : null;
        },
        { timeoutMs: 60_000, message: 'the task running on the other pilot' },
      ).catch(async (error: unknown) => {
        // Where each pilot stood, for a failure in CI: the task, the queue, the pilots' last lines.
        const record = await getTask(pilots.client, pilots.keys, long);
        const logs = await slurm
          .command('bash', ['-c', `tail -n 5 ${pilots.dir}/*.out; squeue`])
          .catch(String);
        throw new Error(`${String(error)}\ntask: ${JSON.stringify(record)}\n${logs}`);
      });
      expect(moved.failures).toBe(0); // handed back: not counted as a failed attempt
      await waitFor(async () => !(await pilots.jobs()).includes(jobId), {
        timeoutMs: 30_000,
        message: 'the warned pilot’s job ended',
      });
      await cancelTask(pilots.client, pilots.keys, long, Date.now());
      expect((await waitForFinal(pilots.client, pilots.keys, long, 30_000)).status).toBe('cancelled');
      await slurm.command('scancel', ['--full', ...(await pilots.jobs())]).catch(() => undefined);
    }, 150_000);

    it('gets SLURM’s own warning before the time limit, and hands its task back within it', async () => {
      // A one-minute limit warned 50 s before: SLURM sends USR1 within its own minute resolution.
      const pilots = await launch(['--gpus', '1', '--time', '1', '--warning', '50']);
      await waitFor(async () => (await listTrackers(pilots.client, pilots.keys)).length === 1, {
        timeoutMs: 60_000,
      });
      const long = await pilots.submit({ gpus: 1, params: { sleepMs: 120_000 } });
      await waitFor(async () => (await getTask(pilots.client, pilots.keys, long))?.status === 'running', {
        timeoutMs: 30_000,
      });
      const back = await waitFor(
        async () => {
          const record = await getTask(pilots.client, pilots.keys, long);
          return record?.status === 'queued' ? record : null;
        },
        { timeoutMs: 80_000, intervalMs: 200, message: 'the task handed back on the warning' },
      );
      expect(back.error ?? '').toMatch(/shut down before the task finished/);
      await waitFor(async () => (await pilots.jobs()).length === 0, { timeoutMs: 30_000 });
      // The tracker stopped on the warning (its log says so), before SLURM's limit would have killed it.
      const log = await readFile(`${pilots.dir}/pilot-${pilots.arrayJob}.out`, 'utf8');
      expect(log).toMatch(/SIGUSR1: the time-limit warning/);
      expect(log).not.toMatch(/DUE TO TIME LIMIT/);
    }, 150_000);
  },
);
