/**
 * One run of bench/compare-priority.ts on a real fleet (bench/lib/tracker-fleet.ts): once the
 * trackers have started, a backlog of 1-GPU `sleep` tasks at the default priority is enqueued in
 * parallel batches (core `enqueue`, `BATCH` at a time: a backlog far longer than the run); once
 * every GPU holds a task (from the `spawned` / `exited` lines), the samples, short `sleep` tasks at
 * a high priority, are enqueued one at a time, each after the one before has started (its
 * `spawned` line). Before each, the queue's waiting count (core `readQueueStats`) is the number of
 * tasks it would have had ahead of it oldest-first. Once every sample has completed the trackers
 * are stopped; the rest of the backlog is left in the throw-away Redis.
 */
import type { Redis } from 'ioredis';
import { enqueue, getTask, queueKeys, readQueueStats, type EnqueueDeps } from '@gpufleet/core';
import { seededRandom } from './prng.js';
import { slotDelay, type SlotDelay } from './slot-delay.js';
import { sleepSpec, startTrackerFleet, timeOf, waitForEvent, waitUntilAllGpusBusy } from './tracker-fleet.js';

/** Backlog enqueues in flight at once. */
const BATCH = 200;

/** 0.3–0.8 s in steps of 10 ms, times `scale`, from `seed`. */
export function backlogTrace(tasks: number, seed: number, scale: number): number[] {
  const next = seededRandom(seed);
  return Array.from({ length: tasks }, () => Math.round((300 + Math.floor(next() * 51) * 10) * scale));
}

/**
 * Enqueues `specs` in parallel batches of `BATCH` (a backlog of thousands queued in seconds, not
 * one round trip each) and returns their ids in order.
 */
export async function enqueueBatched(deps: EnqueueDeps, specs: readonly object[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < specs.length; i += BATCH)
    ids.push(
      ...(await Promise.all(specs.slice(i, i + BATCH).map(async (spec) => (await enqueue(deps, spec)).id))),
    );
  return ids;
}

export interface PriorityRunOptions {
  redis: Redis;
  redisUrl: string;
  prefix: string;
  trackers: number;
  gpusPerTracker: number;
  /** The backlog's durations, ms. */
  backlog: readonly number[];
  samples: number;
  sampleMs: number;
  samplePriority: number;
  /** How long one wait (all GPUs busy, a sample's start) may take, ms. */
  timeoutMs: number;
}

export interface PrioritySample extends SlotDelay {
  id: string;
  submitMs: number;
  startMs: number;
  /** Start − submission. */
  waitMs: number;
  /** Tasks waiting in the queue just before its submission: all ahead of it oldest-first. */
  waitingAhead: number;
}

export interface PriorityRun {
  samples: PrioritySample[];
  /** The first backlog enqueue → the last, ms. */
  backlogSubmitMs: number;
}

export async function runPriority(options: PriorityRunOptions): Promise<PriorityRun> {
  const fleet = await startTrackerFleet(options);
  try {
    const deps = { redis: options.redis, prefix: options.prefix };
    const keys = queueKeys(options.prefix, 'default');
    const submitStart = Date.now();
    await enqueueBatched(
      deps,
      options.backlog.map((ms) => sleepSpec(ms)),
    );
    const backlogSubmitMs = Date.now() - submitStart;

    await waitUntilAllGpusBusy(fleet, options.trackers * options.gpusPerTracker, options.timeoutMs);

    const ids: Array<{ id: string; waitingAhead: number }> = [];
    for (let n = 0; n < options.samples; n++) {
      const { waiting } = await readQueueStats(options.redis, keys);
      const spec = sleepSpec(options.sampleMs, 1, options.samplePriority);
      const { id } = await enqueue(deps, spec);
      ids.push({ id, waitingAhead: waiting });
      await waitForEvent(fleet, 'spawned', [id], options.timeoutMs);
    }
    await waitForEvent(
      fleet,
      'completed',
      ids.map((s) => s.id),
      options.timeoutMs,
    );

    const exits = fleet.lines('exited').map(timeOf);
    const samples = await Promise.all(
      ids.map(async ({ id, waitingAhead }): Promise<PrioritySample> => {
        const record = await getTask(options.redis, keys, id);
        if (!record) throw new Error(`task ${id} has no record`);
        if (record.status !== 'succeeded')
          throw new Error(`task ${id} ended ${record.status}: ${record.error}`);
        if (record.priority !== options.samplePriority)
          throw new Error(`task ${id} has priority ${record.priority}, not ${options.samplePriority}`);
        const startMs = timeOf(fleet.line('spawned', id).line);
        const submitMs = record.createdAt;
        return {
          id,
          submitMs,
          startMs,
          waitMs: startMs - submitMs,
          waitingAhead,
          ...slotDelay(exits, submitMs, startMs),
        };
      }),
    );
    return { samples, backlogSubmitMs };
  } finally {
    await fleet.stop();
  }
}
