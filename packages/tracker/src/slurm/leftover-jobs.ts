/**
 * The SLURM jobs no task needs any more, cancelled: a tracker that fronts a partition
 * (GPUFLEET_BACKEND=slurm) lists its user's jobs named `gpufleet-<task id>` (`squeue --me`) every
 * GPUFLEET_SLURM_SWEEP_MS and cancels those whose task in its queue has ended. Such a job is left
 * when its tracker died after sbatch and before it recorded the job id, or when the task ended
 * elsewhere (cancelled while handed back, dead-lettered at a claim, run again by another tracker
 * and ended there) while the dead tracker's job ran on: without the sweep it would hold its GPUs
 * until SLURM's time limit. A job whose task is not in this queue (another queue's or fleet's, or
 * archived) is left alone, and so is one whose task has not ended (its tracker may not have
 * recorded it yet). scancel is idempotent: several trackers of a queue may sweep the same jobs.
 * squeue failing (slurmctld down) is logged once, and its recovery; the sweep goes on at its pace.
 */
import { execa } from 'execa';
import { isFinal, isTaskStatus, TASK_ID_PATTERN, type Logger, type QueueKeys } from '@gpufleet/core';
import type { Redis } from 'ioredis';
import { JOB_NAME_PREFIX } from './job-script.js';

const TASK_ID = new RegExp(TASK_ID_PATTERN);

export interface LeftoverJob {
  jobId: string;
  taskId: string;
}

/** The user's jobs that run a task (named `gpufleet-<task id>`), as squeue lists them. */
export async function listTaskJobs(): Promise<LeftoverJob[]> {
  const result = await execa('squeue', ['--me', '--noheader', '--format=%i %j'], { reject: false });
  if (result.exitCode !== 0) throw new Error(String(result.stderr || result.shortMessage).trim());
  const jobs: LeftoverJob[] = [];
  for (const line of String(result.stdout).split('\n')) {
    const [jobId = '', name = ''] = line.trim().split(/\s+/);
    const taskId = name.slice(JOB_NAME_PREFIX.length);
    if (name.startsWith(JOB_NAME_PREFIX) && TASK_ID.test(taskId) && /^\d+(_\d+)?$/.test(jobId))
      jobs.push({ jobId, taskId });
  }
  return jobs;
}

export interface LeftoverSweepDeps {
  redis: Redis;
  keys: QueueKeys;
  logger: Logger;
  cancelJob: (jobId: string) => Promise<void>;
}

/** Of `jobs` (listTaskJobs), cancels those whose task here has ended; returns them. */
export async function cancelLeftoverJobs(
  deps: LeftoverSweepDeps,
  jobs: readonly LeftoverJob[],
): Promise<LeftoverJob[]> {
  if (jobs.length === 0) return [];
  const pipeline = deps.redis.pipeline();
  for (const job of jobs) pipeline.hget(deps.keys.task(job.taskId), 'status');
  const replies = (await pipeline.exec()) ?? [];
  const cancelled: LeftoverJob[] = [];
  for (const [i, job] of jobs.entries()) {
    const status = replies[i]?.[1];
    if (typeof status !== 'string' || !isTaskStatus(status) || !isFinal(status)) continue;
    await deps.cancelJob(job.jobId);
    deps.logger.warn(
      { slurmJob: job.jobId, taskId: job.taskId, status },
      'cancelled a SLURM job whose task has ended (left by a tracker that died)',
    );
    cancelled.push(job);
  }
  return cancelled;
}

/** The periodic sweep: `run()` every GPUFLEET_SLURM_SWEEP_MS (tracker.ts). */
export class LeftoverJobSweep {
  private failing = false;

  constructor(private readonly deps: LeftoverSweepDeps) {}

  async run(): Promise<LeftoverJob[]> {
    let jobs: LeftoverJob[];
    try {
      jobs = await listTaskJobs();
    } catch (error) {
      if (!this.failing) this.deps.logger.warn({ err: error }, 'cannot list SLURM jobs (squeue); will retry');
      this.failing = true;
      return [];
    }
    if (this.failing) this.deps.logger.info('listing SLURM jobs works again');
    this.failing = false;
    return cancelLeftoverJobs(this.deps, jobs);
  }
}
