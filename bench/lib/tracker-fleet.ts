/**
 * A fleet of real gpufleet-tracker processes on one prefix, for the scheduling benchmarks
 * (bench/compare-scheduling.ts, compare-fairness.ts, compare-priority.ts): `trackers` processes
 * (the built bin, bench/lib/worker-process.ts), each declaring GPUs 0..gpus-1 through
 * GPUFLEET_GPUS (no nvidia-smi needed; the ids are only handed to the program as
 * CUDA_VISIBLE_DEVICES) and no CPU slots. What happened is read from the trackers' NDJSON logs,
 * never by polling: a task's start is its `spawned` line, its GPUs are free at its `exited` line,
 * it is done at its `completed` line, each at the line's pino `time` (epoch ms, the clock the
 * records' `createdAt` is on).
 */
import { makeTempDir, removeDir } from '@gpufleet/testkit';
import { startTracker, type Line, type WorkerProcess } from './worker-process.js';

export interface TrackerFleetOptions {
  redisUrl: string;
  prefix: string;
  trackers: number;
  gpusPerTracker: number;
  /**
   * More GPUFLEET_* settings for every tracker (compare-preemption.ts: the preemption grace, and
   * no shutdown grace so that stopping the fleet hands its long tasks back at once).
   */
  env?: Record<string, string>;
}

/** A task's times on the fleet, from its log lines. */
export interface TaskLineTimes {
  tracker: string;
  startMs: number;
  endMs: number;
  doneMs: number;
  /** The GPU ids its `spawned` line names. */
  gpuIds: number[];
}

export interface TrackerFleet {
  readonly workers: readonly WorkerProcess[];
  /**
   * Resolves once `done` holds, `done` being called on each line of every tracker (seen already or
   * to come; a line may be shown again, so keep what it counts in sets); rejects after `timeoutMs`
   * with `what()` in the message.
   */
  waitUntil(done: (line: Line) => boolean, timeoutMs: number, what: () => string): Promise<void>;
  /** The `event` line of `taskId` in any tracker's log, with its tracker. */
  line(event: string, taskId: string): { line: Line; tracker: string };
  /** Every tracker's lines of `event`, in no particular order. */
  lines(event: string): Line[];
  /** A task's spawned / exited / completed times. */
  times(taskId: string): TaskLineTimes;
  /** Stops every tracker and removes the work folder; safe to call twice. */
  stop(): Promise<void>;
}

/** A log line's pino `time` (epoch ms). */
export function timeOf(line: Line): number {
  if (typeof line.time !== 'number')
    throw new Error(`a log line without a numeric time: ${JSON.stringify(line)}`);
  return line.time;
}

export async function startTrackerFleet(options: TrackerFleetOptions): Promise<TrackerFleet> {
  const dir = await makeTempDir('gpufleet-scheduling-');
  const workers: WorkerProcess[] = [];
  const gpus = Array.from({ length: options.gpusPerTracker }, (_, i) => i).join(',');
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await Promise.all(workers.map((w) => w.stop()));
      await removeDir(dir);
    })());
  const started = await Promise.allSettled(
    Array.from({ length: options.trackers }, (_, n) =>
      startTracker({
        redisUrl: options.redisUrl,
        prefix: options.prefix,
        name: `${options.prefix}-${n + 1}`,
        dir,
        cpuSlots: 0,
        env: { ...options.env, GPUFLEET_GPUS: gpus },
      }),
    ),
  );
  for (const s of started) if (s.status === 'fulfilled') workers.push(s.value);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }

  const line = (event: string, taskId: string): { line: Line; tracker: string } => {
    for (const w of workers) {
      const found = w.lines.find((l) => l.event === event && l.taskId === taskId);
      if (found) return { line: found, tracker: w.name };
    }
    throw new Error(`no ${event} line for task ${taskId}`);
  };

  return {
    workers,
    async waitUntil(done, timeoutMs, what) {
      const stopWaiting = new AbortController();
      try {
        await Promise.any(workers.map((w) => w.waitForLine(done, timeoutMs, stopWaiting.signal)));
      } catch {
        throw new Error(`${what()} after ${timeoutMs} ms`);
      } finally {
        stopWaiting.abort();
      }
    },
    line,
    lines: (event) => workers.flatMap((w) => w.lines.filter((l) => l.event === event)),
    times(taskId) {
      const spawned = line('spawned', taskId);
      return {
        tracker: spawned.tracker,
        startMs: timeOf(spawned.line),
        endMs: timeOf(line('exited', taskId).line),
        doneMs: timeOf(line('completed', taskId).line),
        gpuIds: Array.isArray(spawned.line.gpuIds) ? (spawned.line.gpuIds as number[]) : [],
      };
    },
    stop,
  };
}

/**
 * Resolves when every task of `ids` has logged `event` on some tracker (each tracker's lines are
 * all checked; a task counts once).
 */
export function waitForEvent(
  fleet: TrackerFleet,
  event: string,
  ids: Iterable<string>,
  timeoutMs: number,
): Promise<void> {
  const wanted = new Set(ids);
  const seen = new Set<string>();
  return fleet.waitUntil(
    (l) => {
      if (l.event === event && typeof l.taskId === 'string' && wanted.has(l.taskId)) seen.add(l.taskId);
      return seen.size === wanted.size;
    },
    timeoutMs,
    () => `only ${seen.size} of ${wanted.size} tasks logged \`${event}\``,
  );
}

/**
 * Resolves once every GPU of the fleet holds a task: as many tasks spawned and not yet exited as
 * `totalGpus` (a task counts once: an exit is final for this purpose, as in a run where nothing is
 * started twice before the fleet is full).
 */
export function waitUntilAllGpusBusy(
  fleet: TrackerFleet,
  totalGpus: number,
  timeoutMs: number,
): Promise<void> {
  const running = new Set<string>();
  const exited = new Set<string>();
  return fleet.waitUntil(
    (l: Line) => {
      if (typeof l.taskId !== 'string') return false;
      if (l.event === 'spawned' && !exited.has(l.taskId)) running.add(l.taskId);
      if (l.event === 'exited') {
        exited.add(l.taskId);
        running.delete(l.taskId);
      }
      return running.size >= totalGpus;
    },
    timeoutMs,
    () => `${running.size} of ${totalGpus} GPUs busy`,
  );
}

/**
 * A `sleep` task (bench/executers/sleep) of `durationMs` on `gpus` GPUs, at `priority` and with the
 * time limit `timeLimitMs` if given (else the executer's, 60 s).
 */
export const sleepSpec = (durationMs: number, gpus = 1, priority?: number, timeLimitMs?: number): object => ({
  executer: 'sleep',
  gpus,
  params: { seconds: (durationMs / 1000).toFixed(3) },
  ...(priority === undefined ? {} : { priority }),
  ...(timeLimitMs === undefined ? {} : { timeLimitMs }),
});
