/**
 * A trace run on a real fleet, for bench/compare-scheduling.ts: `trackers` gpufleet-tracker
 * processes (the built bin, bench/lib/worker-process.ts), each declaring GPUs 0..gpus-1 through
 * GPUFLEET_GPUS (no nvidia-smi needed; the ids are only handed to the program as
 * CUDA_VISIBLE_DEVICES) and no CPU slots, on one fresh prefix. Once all have started, every task
 * of the trace is enqueued in order, one after the other (a backlog: the whole trace is queued
 * well before the first task ends), as a `sleep` task (bench/executers/sleep) asking for its GPUs.
 * The times come from the trackers' NDJSON logs, never from polling: each task's start is its
 * `spawned` line, its GPUs are free at its `exited` line, it is done at its `completed` line (the
 * pino `time` of each, epoch ms); its submission is the record's `createdAt` (set by enqueue).
 */
import type { Redis } from 'ioredis';
import { enqueue, getTask, queueKeys } from '@gpufleet/core';
import { makeTempDir, removeDir } from '@gpufleet/testkit';
import type { TaskTimes } from './schedule-figures.js';
import type { TraceTask } from './scheduling-trace.js';
import { startTracker, type Line, type WorkerProcess } from './worker-process.js';

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

const sleepSpec = (task: TraceTask): object => ({
  executer: 'sleep',
  gpus: task.gpus,
  params: { seconds: (task.durationMs / 1000).toFixed(3) },
});

/** The line of `event` for `taskId` in any tracker's log, with its tracker. */
function findLine(workers: WorkerProcess[], event: string, taskId: string): { line: Line; tracker: string } {
  for (const w of workers) {
    const line = w.lines.find((l) => l.event === event && l.taskId === taskId);
    if (line) return { line, tracker: w.name };
  }
  throw new Error(`no ${event} line for task ${taskId}`);
}

const timeOf = (line: Line): number => {
  if (typeof line.time !== 'number')
    throw new Error(`a log line without a numeric time: ${JSON.stringify(line)}`);
  return line.time;
};

export async function runTraceOnFleet(trace: readonly TraceTask[], options: FleetOptions): Promise<FleetRun> {
  const dir = await makeTempDir('gpufleet-scheduling-');
  const workers: WorkerProcess[] = [];
  const gpus = Array.from({ length: options.gpusPerTracker }, (_, i) => i).join(',');
  try {
    const started = await Promise.allSettled(
      Array.from({ length: options.trackers }, (_, n) =>
        startTracker({
          redisUrl: options.redisUrl,
          prefix: options.prefix,
          name: `${options.prefix}-${n + 1}`,
          dir,
          cpuSlots: 0,
          env: { GPUFLEET_GPUS: gpus },
        }),
      ),
    );
    for (const s of started) if (s.status === 'fulfilled') workers.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;

    const ids: string[] = [];
    const submitStart = Date.now();
    for (const task of trace)
      ids.push((await enqueue({ redis: options.redis, prefix: options.prefix }, sleepSpec(task))).id);
    const submitSpanMs = Date.now() - submitStart;

    // Done when every task's `completed` line has come, from whichever tracker ran it.
    const wanted = new Set(ids);
    const done = new Set<string>();
    const allDone = (l: Line): boolean => {
      if (l.event === 'completed' && typeof l.taskId === 'string' && wanted.has(l.taskId)) done.add(l.taskId);
      return done.size === wanted.size;
    };
    const stopWaiting = new AbortController();
    try {
      await Promise.any(workers.map((w) => w.waitForLine(allDone, options.timeoutMs, stopWaiting.signal)));
    } catch {
      throw new Error(`only ${done.size} of ${ids.length} tasks completed in ${options.timeoutMs} ms`);
    } finally {
      stopWaiting.abort();
    }

    const keys = queueKeys(options.prefix, 'default');
    const tasks = await Promise.all(
      ids.map(async (id, i): Promise<FleetTaskTimes> => {
        const record = await getTask(options.redis, keys, id);
        if (!record) throw new Error(`task ${id} has no record`);
        if (record.status !== 'succeeded')
          throw new Error(`task ${id} ended ${record.status}: ${record.error}`);
        const spawned = findLine(workers, 'spawned', id);
        return {
          gpus: (trace[i] as TraceTask).gpus,
          submitMs: record.createdAt,
          startMs: timeOf(spawned.line),
          endMs: timeOf(findLine(workers, 'exited', id).line),
          doneMs: timeOf(findLine(workers, 'completed', id).line),
          tracker: spawned.tracker,
          gpuIds: Array.isArray(spawned.line.gpuIds) ? (spawned.line.gpuIds as number[]) : [],
        };
      }),
    );
    const spawns = workers.flatMap((w) => w.lines.filter((l) => l.event === 'spawned'));
    return { tasks, submitSpanMs, rerun: spawns.length - ids.length };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await removeDir(dir);
  }
}
