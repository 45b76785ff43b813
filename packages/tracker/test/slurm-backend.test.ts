// A tracker that fronts a SLURM partition (GPUFLEET_BACKEND=slurm), against a real one-node SLURM
// (testkit's startSlurmCluster, four fake GPUs): each task it takes is a SLURM job on the GPUs
// SLURM gives it (CUDA_VISIBLE_DEVICES as SLURM set it), with its exit code, outputs and live log
// as any task's; cancel through scancel; a job cancelled in SLURM by someone else; the task's time
// limit; an sbatch refusal reported with SLURM's message; slurmctld restarted mid-run; a task's own
// `slurm` resources over the tracker's (and a partition SLURM refuses), and its env setup line run
// in the job before its executer. Skipped, saying why, where SLURM cannot run.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelTask, enqueue, type TaskRecord } from '@gpufleet/core';
import {
  slurmUnavailable,
  startSlurmCluster,
  uniquePrefix,
  useRedis,
  useTempDirs,
  waitFor,
  type SlurmCluster,
} from '@gpufleet/testkit';
import {
  FIXTURE_EXECUTERS,
  startTestTracker,
  useTrackers,
  waitForFinal,
  type TestTrackerOptions,
} from './helpers/fleet.js';
import { accountedState } from '../src/slurm/job-accounting.js';

const unavailable = await slurmUnavailable();
const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();

describe.skipIf(unavailable !== null)(
  `a tracker fronting SLURM${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let slurm: SlurmCluster;
    const before = process.env['SLURM_CONF'];
    beforeAll(async () => {
      slurm = await startSlurmCluster({ gpus: 4 });
      process.env['SLURM_CONF'] = slurm.env['SLURM_CONF']; // the tracker's sbatch, scontrol, scancel
    }, 60_000);
    afterAll(async () => {
      if (before === undefined) delete process.env['SLURM_CONF'];
      else process.env['SLURM_CONF'] = before;
      await slurm?.stop();
    }, 30_000);

    async function slurmTracker(options: Partial<TestTrackerOptions> = {}) {
      const prefix = uniquePrefix();
      const artifactDir = await temp.make();
      const tracker = await startTestTracker({
        redisUrl: redis.server.url,
        prefix,
        artifactDir,
        workDir: await temp.make(),
        slurm: { gpus: 8, cpuJobs: 2, pollMs: 200, sweepMs: 1000, resources: { mem: '256M' } },
        ...options,
      });
      trackers.push(tracker);
      const client = redis.server.client();
      const submit = async (spec: Record<string, unknown>): Promise<string> =>
        (await enqueue({ redis: client, prefix }, { executer: 'probe', ...spec })).id;
      const ended = (id: string, ms = 60_000): Promise<TaskRecord> =>
        waitForFinal(client, tracker.keys, id, ms);
      const jobOf = async (id: string): Promise<string> =>
        waitFor(() => client.hget(tracker.keys.task(id), 'slurmJobId'), { timeoutMs: 30_000 });
      const report = async (record: TaskRecord): Promise<Record<string, unknown>> => {
        const prefixDir = record.outputs?.prefix ?? '';
        return JSON.parse(await readFile(join(artifactDir, prefixDir, 'report.json'), 'utf8')) as Record<
          string,
          unknown
        >;
      };
      return { tracker, client, submit, ended, jobOf, report };
    }

    it('runs each task as a SLURM job on the GPUs SLURM gives it, with its exit code, log and outputs', async () => {
      const { submit, ended, jobOf, report } = await slurmTracker();
      const ok = await submit({ gpus: 2, params: { sleepMs: 300 } });
      const job = await jobOf(ok);
      const done = await ended(ok);
      expect(done.status).toBe('succeeded');
      // This cluster keeps no accounting (no slurmdbd): sacct knows nothing, and says so quietly.
      expect(await accountedState(job)).toBeNull();
      const seen = await report(done);
      expect(String(seen['cudaVisibleDevices']).split(',')).toHaveLength(2); // as SLURM set it
      expect(seen['gpuIds']).toBe(seen['cudaVisibleDevices']);
      expect(seen['redisUrlVisible']).toBe(false);
      expect(await slurm.command('scontrol', ['show', 'job', '-o', job])).toMatch(
        /JobState=COMPLETED.*TresPerNode=(gres[:/])?gpu:2/,
      );
      expect(done.outputs?.files.map((f) => f.path)).toEqual(
        expect.arrayContaining(['stdout.txt', 'report.json']),
      );
      const failing = await ended(await submit({ gpus: 0, params: { exitCode: 3 } }));
      expect(failing).toMatchObject({ status: 'failed', errorCode: 'EXIT_NONZERO', exitCode: 3 });
      expect(failing.stderrTail).toMatch(/failing with exit code 3/);
    }, 120_000);

    it('cancels through scancel, ends cancelled when SLURM cancels the job, and times out at the task’s limit', async () => {
      const { client, tracker, submit, ended, jobOf } = await slurmTracker();
      const byUs = await submit({ gpus: 1, params: { sleepMs: 60_000 } });
      const byUsJob = await jobOf(byUs);
      await waitFor(
        async () => /JobState=RUNNING/.test(await slurm.command('scontrol', ['show', 'job', '-o', byUsJob])),
        { timeoutMs: 30_000 },
      );
      await cancelTask(client, tracker.keys, byUs, Date.now());
      expect(await ended(byUs)).toMatchObject({ status: 'cancelled', errorCode: 'CANCELLED' });
      expect(await slurm.command('scontrol', ['show', 'job', '-o', byUsJob])).toMatch(/JobState=CANCELLED/);

      const bySlurm = await submit({ gpus: 1, params: { sleepMs: 60_000 } });
      const bySlurmJob = await jobOf(bySlurm);
      await slurm.command('scancel', [bySlurmJob]);
      expect((await ended(bySlurm)).status).toBe('cancelled');

      const slow = await submit({ gpus: 0, timeLimitMs: 2_000, params: { sleepMs: 60_000 } });
      expect(await ended(slow)).toMatchObject({ status: 'timed_out', errorCode: 'TIME_LIMIT' });
    }, 150_000);

    it('reports an sbatch refusal with SLURM’s message, and rides out a slurmctld restart mid-run', async () => {
      const { submit, ended, jobOf } = await slurmTracker();
      // Eight GPUs on a node of four: sbatch refuses the job.
      const refused = await ended(await submit({ gpus: 8, params: {} }));
      expect(refused).toMatchObject({ status: 'failed', errorCode: 'SPAWN_FAILED' });
      expect(refused.error).toMatch(
        /sbatch refused the job: sbatch: error: .*(configuration is not available|Requested node configuration)/i,
      );

      const long = await submit({ gpus: 1, params: { sleepMs: 6_000 } });
      // Running in SLURM; slurmctld stopped (it saves its state) and started again while the job runs.
      const longJob = await jobOf(long);
      await waitFor(
        async () => /JobState=RUNNING/.test(await slurm.command('scontrol', ['show', 'job', '-o', longJob])),
        { timeoutMs: 30_000 },
      );
      await slurm.restartController();
      const survived = await ended(long);
      expect([survived.status, survived.attempt, survived.error]).toEqual(['succeeded', 1, null]);
    }, 150_000);

    it('asks SLURM for the task’s own resources over the tracker’s, and runs its env setup line in the job', async () => {
      const envExecuters = fileURLToPath(new URL('./fixtures/env-executers', import.meta.url));
      const marker = join(await temp.make(), 'pwned');
      const { client, tracker, submit, ended, report } = await slurmTracker({
        executerPaths: [FIXTURE_EXECUTERS, envExecuters],
        allowEnvSetup: true,
      });
      const showJob = async (id: string): Promise<string> =>
        slurm.command('scontrol', [
          'show',
          'job',
          '-o',
          (await client.hget(tracker.keys.task(id), 'slurmJobId')) ?? '',
        ]);
      const hostile = `$(touch ${marker}); echo pwned`;
      const [sized, nosuch, withEnv] = await Promise.all([
        submit({ gpus: 0, slurm: { mem: '300M', cpusPerTask: 2 }, params: { sleepMs: 100 } }),
        submit({ gpus: 0, slurm: { partition: 'nosuch' }, params: {} }),
        submit({
          executer: 'env-probe',
          envSetup: 'export GREETING=hello-from-slurm',
          params: { args: [hostile] },
        }),
      ]);

      const sizedDone = await ended(sized);
      expect(sizedDone.status).toBe('succeeded');
      const sizedJob = await showJob(sized);
      expect(sizedJob).toMatch(/MinMemoryNode=300M/);
      expect(sizedJob).toMatch(/NumCPUs=2\b/);
      expect(sizedJob).toMatch(/CPUs\/Task=2\b/);

      const refused = await ended(nosuch);
      expect(refused).toMatchObject({ status: 'failed', errorCode: 'SPAWN_FAILED' });
      expect(refused.error).toMatch(/sbatch refused the job: sbatch: error: .*invalid partition/i);

      const envDone = await ended(withEnv);
      expect(envDone.status).toBe('succeeded');
      expect(await report(envDone)).toMatchObject({ greeting: 'hello-from-slurm', args: [hostile] });
      await expect(readFile(marker)).rejects.toThrow(/ENOENT/);
      expect(await showJob(withEnv)).toMatch(/MinMemoryNode=256M/); // the tracker's own, the task asking none
    }, 120_000);
  },
);
