// A resource profile and `--runs N --chain` end to end on a real one-node SLURM (testkit's
// startSlurmCluster, four fake GPUs): `gpufleet submit --profile sim --runs 2 --chain` against a
// fleet whose tracker fronts the partition (GPUFLEET_BACKEND=slurm, env lines allowed) makes two
// SLURM jobs, one after the other, each with the profile's gres, memory and time limit; the
// profile's env line runs inside each job before the executer (it leaves a file named after
// SLURM_JOB_ID in the outputs). A profile asking for a partition SLURM does not have fails the task
// with sbatch's message. Skipped, saying why, where SLURM cannot run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTask, queueKeys, type TaskRecord } from '@gpufleet/core';
import {
  slurmUnavailable,
  startSlurmCluster,
  useRedis,
  useTempDirs,
  type SlurmCluster,
} from '@gpufleet/testkit';
import { runCli, startCliFleet, writeFiles, type CliFleet } from './helpers/cli-fleet.js';

const unavailable = await slurmUnavailable();
const redis = useRedis();
const temp = useTempDirs();

describe.skipIf(unavailable !== null)(
  `resource profiles on SLURM${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let slurm: SlurmCluster;
    let fleet: CliFleet;
    let dir: string;
    const before = process.env['SLURM_CONF'];

    beforeAll(async () => {
      slurm = await startSlurmCluster({ gpus: 4 });
      process.env['SLURM_CONF'] = slurm.env['SLURM_CONF']; // the tracker's sbatch, scontrol, scancel
      fleet = await startCliFleet(redis.server, temp, {
        trackerEnv: {
          GPUFLEET_BACKEND: 'slurm',
          GPUFLEET_SLURM_GPUS: '4',
          GPUFLEET_SLURM_POLL_MS: '200',
          GPUFLEET_SLURM_MEM: '256M',
          GPUFLEET_ALLOW_ENV_SETUP: '1',
        },
      });
      dir = await temp.make();
      const connection = { apiUrl: fleet.url, token: fleet.token };
      await writeFiles(dir, {
        'gpufleet.json': JSON.stringify({
          profiles: {
            sim: {
              ...connection,
              env: 'touch "$GPUFLEET_OUTPUT_DIR/env-line-in-job-$SLURM_JOB_ID"',
              slurm: { time: '3', gres: 'gpu:2', mem: '300M', 'cpus-per-task': 1 },
            },
            nowhere: { ...connection, slurm: { partition: 'nosuch', gres: 'gpu:1' } },
          },
        }),
      });
    }, 90_000);
    afterAll(async () => {
      await fleet?.close();
      if (before === undefined) delete process.env['SLURM_CONF'];
      else process.env['SLURM_CONF'] = before;
      await slurm?.stop();
    }, 60_000);

    const cli = (args: string[]) =>
      runCli(args, { env: { ...fleet.env, GPUFLEET_CONFIG: `${dir}/gpufleet.json` } });
    const record = async (id: string): Promise<TaskRecord> => {
      const found = await getTask(redis.server.client(), queueKeys(fleet.prefix, 'default'), id);
      if (!found) throw new Error(`no task ${id}`);
      return found;
    };

    it('runs the chain as SLURM jobs one after another, with the profile’s resources and env line', async () => {
      const submitted = await cli([
        'submit',
        '--profile',
        'sim',
        'probe',
        '--runs',
        '2',
        '--chain',
        '-p',
        'sleepMs=500',
        '--wait',
      ]);
      expect(submitted.code, submitted.stderr).toBe(0);
      const [first, second] = await Promise.all(submitted.stdout.trim().split('\n').map(record));
      if (!first || !second) throw new Error('expected two tasks');
      expect(second.after).toBe(first.id);
      expect(second.startedAt ?? 0).toBeGreaterThanOrEqual(first.endedAt ?? Infinity);
      for (const task of [first, second]) {
        expect(task).toMatchObject({ status: 'succeeded', gpus: 2, timeLimitMs: 180_000 });
        const job = String(
          (await redis.server
            .client()
            .hget(queueKeys(fleet.prefix, 'default').task(task.id), 'slurmJobId')) ?? '',
        );
        expect(job).toMatch(/^\d+$/);
        const shown = await slurm.command('scontrol', ['show', 'job', '-o', job]);
        expect(shown).toMatch(/MinMemoryNode=300M/);
        expect(shown).toMatch(/TimeLimit=00:04:00/); // the task's 3 minutes and SLURM's one of margin
        expect(shown).toMatch(/gpu[:=]2|gres\/gpu=2/);
        expect(task.outputs?.files.map((f) => f.path)).toContain(`env-line-in-job-${job}`);
      }
    }, 120_000);

    it('fails a task whose profile names a partition SLURM lacks, with sbatch’s message', async () => {
      const submitted = await cli(['submit', '--profile', 'nowhere', 'probe', '--wait']);
      expect(submitted.code).toBe(1);
      const task = await record(submitted.stdout.trim().split('\n')[0] ?? '');
      expect(task.status).toBe('failed');
      expect(task.error ?? '').toMatch(/invalid partition/i);
    }, 60_000);
  },
);
