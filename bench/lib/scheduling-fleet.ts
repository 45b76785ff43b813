/**
 * A trace run on a real fleet, for bench/compare-scheduling.ts: `trackers` gpufleet-tracker
 * processes × `gpus` declared GPUs on one fresh prefix (bench/lib/tracker-fleet.ts). Once all have
 * started, every task of the trace is enqueued in order, one after the other (a backlog: the whole
 * trace is queued well before the first task ends), as a `sleep` task (bench/executers/sleep)
 * asking for its GPUs. The times come from the trackers' NDJSON logs, never from polling: each
 * task's start is its `spawned` line, its GPUs are free at its `exited` line, it is done at its
 * `completed` line (the pino `time` of each, epoch ms); its submission is the record's `createdAt`
 * (set by enqueue).
 */
import type { Redis } from 'ioredis';
import { enqueue, getTask, queueKeys } from '@gpufleet/core';
import type { TaskTimes } from './schedule-figures.js';
import type { TraceTask } from './scheduling-trace.js';
import { sleepSpec, startTrackerFleet, waitForEvent } from './tracker-fleet.js';

export interface FleetOptions {
  redis: Redis;
  redisUrl: string;
  prefix: string;
  trackers: number;
  gpusPerTracker: number;
  /** How long the whole trace may take, ms. */
  timeoutMs: number;
}

export interface FleetTaskTimes extends TaskTimes {
  tracker: string;
  /** The GPU ids its `spawned` line names. */
  gpuIds: number[];
}

export interface FleetRun {
  /** In trace order. */
  tasks: FleetTaskTimes[];
  /** The first enqueue → the last, ms. */
  submitSpanMs: number;
  /** Tasks that ran more than once (handed back, retried): none expected. */
  rerun: number;
}

/**
 * The time limit each task is given: 1.25 × its duration, at least 1 s. Backfill judges by time
 * limits (as SLURM's), so the users who want it set them near their tasks' durations.
 */
export function timeLimitFor(durationMs: number): number {
  return Math.max(1000, Math.ceil(durationMs * 1.25));
}

export async function runTraceOnFleet(trace: readonly TraceTask[], options: FleetOptions): Promise<FleetRun> {
  const fleet = await startTrackerFleet(options);
  try {
    const ids: string[] = [];
    const submitStart = Date.now();
    for (const task of trace)
      ids.push(
        (
          await enqueue(
            { redis: options.redis, prefix: options.prefix },
            sleepSpec(task.durationMs, task.gpus, undefined, timeLimitFor(task.durationMs)),
          )
        ).id,
      );
    const submitSpanMs = Date.now() - submitStart;

    // Done when every task's `completed` line has come, from whichever tracker ran it.
    await waitForEvent(fleet, 'completed', ids, options.timeoutMs);

    const keys = queueKeys(options.prefix, 'default');
    const tasks = await Promise.all(
      ids.map(async (id, i): Promise<FleetTaskTimes> => {
        const record = await getTask(options.redis, keys, id);
        if (!record) throw new Error(`task ${id} has no record`);
        if (record.status !== 'succeeded')
          throw new Error(`task ${id} ended ${record.status}: ${record.error}`);
        return { gpus: (trace[i] as TraceTask).gpus, submitMs: record.createdAt, ...fleet.times(id) };
      }),
    );
    return { tasks, submitSpanMs, rerun: fleet.lines('spawned').length - ids.length };
  } finally {
    await fleet.stop();
  }
}
