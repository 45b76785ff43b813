/**
 * The scheduling issue's mixed trace (bench/lib/scheduling-trace.ts) run on the bench's SLURM
 * cluster, for bench/slurm.ts, two ways, each task the stamp program sleeping its duration on its
 * GPUs (bench/lib/slurm-stamp.ts):
 *
 * - through SLURM's own scheduler: each task an sbatch job with `--gres=gpu:k`, submitted in trace
 *   order one after the other, its time limit that of bench:scheduling (timeLimitFor: 1.25 × its
 *   duration, at least 1 s) rounded up to SLURM's unit, whole minutes;
 * - through gpufleet: each task enqueued in trace order, with that time limit in ms, to a pilot
 *   tracker (already running, holding every GPU) that schedules them itself.
 *
 * Both measured alike: submission just before each submitting call, start and end the program's own
 * stamps (so makespan = first submission → last program end, busy = Σ GPUs × (end − start)).
 */
import { enqueue, queueKeys, waitForTaskEnd } from '@gpufleet/core';
import type { SlurmCluster } from '@gpufleet/testkit';
import type { TaskTimes } from './schedule-figures.js';
import { timeLimitFor } from './scheduling-fleet.js';
import type { TraceTask } from './scheduling-trace.js';
import { quantile } from './stats.js';
import { jobStartsBy, sbatchStamp, waitForJobsGone, type GpufleetSide } from './slurm-setup.js';
import { stampArgs, stampSpec, waitForStamps, type StampFiles } from './slurm-stamp.js';

export interface TraceRun {
  /** In trace order. */
  tasks: TaskTimes[];
  /** The first submission → the last submitting call answered, ms. */
  submitSpanMs: number;
  /** Through SLURM: how many jobs its main scheduler and its backfill started. */
  startedBy?: { main: number; backfill: number; unknown: number };
}

/** How a schedule started its tasks: in order or not, and how soon after a program ended. */
export interface StartFigures {
  /** Tasks that started more than 50 ms before a task submitted ahead of them. */
  startedAhead: number;
  /** A start − the last program end before it (the GPUs' hand-over), p50 and p90 ms. */
  handOverP50Ms: number;
  handOverP90Ms: number;
}

export function startFigures(tasks: readonly TaskTimes[]): StartFigures {
  const ends = tasks.map((t) => t.endMs).sort((a, b) => a - b);
  const gaps: number[] = [];
  let latestStart = -Infinity;
  let startedAhead = 0;
  for (const t of tasks) {
    if (t.startMs < latestStart - 50) startedAhead++;
    latestStart = Math.max(latestStart, t.startMs);
    const before = ends.filter((end) => end <= t.startMs);
    if (before.length > 0) gaps.push(t.startMs - (before[before.length - 1] as number));
  }
  return { startedAhead, handOverP50Ms: quantile(gaps, 0.5), handOverP90Ms: quantile(gaps, 0.9) };
}

/** SLURM's time limit for a task: whole minutes, at least one. */
export const slurmLimitMinutes = (durationMs: number): number =>
  Math.max(1, Math.ceil(timeLimitFor(durationMs) / 60_000));

async function timesOf(
  trace: readonly TraceTask[],
  files: StampFiles,
  names: readonly string[],
  submitMs: readonly number[],
  timeoutMs: number,
): Promise<TaskTimes[]> {
  const ends = await waitForStamps(files.stamps, names, 'end', timeoutMs);
  const starts = await waitForStamps(files.stamps, names, 'start', 1000);
  return trace.map((task, i) => ({
    gpus: task.gpus,
    submitMs: submitMs[i] as number,
    startMs: starts[i] as number,
    endMs: ends[i] as number,
  }));
}

export async function runTraceOnSlurm(
  slurm: SlurmCluster,
  files: StampFiles,
  trace: readonly TraceTask[],
  timeoutMs: number,
): Promise<TraceRun> {
  const names = trace.map((_, i) => `slurm-trace-${i}`);
  const submitMs: number[] = [];
  const jobs: string[] = [];
  let lastAccepted = 0;
  for (const [i, task] of trace.entries()) {
    const job = await sbatchStamp(
      slurm,
      files.script,
      stampArgs(files.stamps, names[i] as string, task.durationMs),
      task.gpus,
      slurmLimitMinutes(task.durationMs),
    );
    submitMs.push(job.submitMs);
    jobs.push(job.jobId);
    lastAccepted = job.acceptedMs;
  }
  const tasks = await timesOf(trace, files, names, submitMs, timeoutMs);
  await waitForJobsGone(slurm, jobs, 30_000);
  const startedBy = await jobStartsBy(slurm, jobs);
  return { tasks, submitSpanMs: lastAccepted - (submitMs[0] ?? lastAccepted), startedBy };
}

export async function runTraceOnGpufleet(
  side: GpufleetSide,
  files: StampFiles,
  trace: readonly TraceTask[],
  timeoutMs: number,
): Promise<TraceRun> {
  const names = trace.map((_, i) => `gpufleet-trace-${i}`);
  const submitMs: number[] = [];
  const ids: string[] = [];
  for (const [i, task] of trace.entries()) {
    submitMs.push(Date.now());
    const spec = stampSpec(
      files.stamps,
      names[i] as string,
      task.durationMs,
      task.gpus,
      timeLimitFor(task.durationMs),
    );
    ids.push((await enqueue({ redis: side.redis, prefix: side.prefix }, spec)).id);
  }
  const submitSpanMs = Date.now() - (submitMs[0] ?? Date.now());
  const tasks = await timesOf(trace, files, names, submitMs, timeoutMs);
  const keys = queueKeys(side.prefix, 'default');
  for (const id of ids) {
    const record = await waitForTaskEnd(side.redis, keys, id, { timeoutMs: 30_000 });
    if (record.status !== 'succeeded') throw new Error(`task ${id} ended ${record.status}: ${record.error}`);
  }
  return { tasks, submitSpanMs };
}
