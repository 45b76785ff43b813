/**
 * The sizes a tracker's consumer loop takes (the GPU counts it can ever run; a CPU slot counts as
 * 0 GPUs) and the streams of those sizes, where its claimed entries live: two per size, the
 * requeued stream and the task stream; and what the tracker does with them at start: their
 * consumer groups created, and the tasks waiting in them indexed.
 */
import type { Redis } from 'ioredis';
import { indexWaiting, TRACKER_GROUP, type Logger, type QueueKeys } from '@gpufleet/core';
import type { SlotPool } from './slot-pool.js';

/** The GPU counts a tracker with this pool can ever run, ascending (0: a CPU slot). */
export function loopSizes(pool: SlotPool): number[] {
  return [...(pool.cpuSlots > 0 ? [0] : []), ...pool.gpuIds.map((_, i) => i + 1)];
}

/** The streams of a tracker's sizes: the requeued streams, then the task streams. */
export function loopStreams(keys: QueueKeys, pool: SlotPool): string[] {
  const sizes = loopSizes(pool);
  return [...sizes.map((gpus) => keys.requeued(gpus)), ...sizes.map((gpus) => keys.tasks(gpus))];
}

/** Creates each stream's consumer group (MKSTREAM; BUSYGROUP means it exists). */
export async function ensureGroups(redis: Redis, streams: readonly string[]): Promise<void> {
  for (const key of streams) {
    try {
      await redis.xgroup('CREATE', key, TRACKER_GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error instanceof Error && error.message.includes('BUSYGROUP'))) throw error;
    }
  }
}

/**
 * Puts the waiting tasks of `streams` that are in no wait set into theirs (core's indexWaiting:
 * what a version without wait sets left waiting); says how many once, if any.
 */
export async function indexWaitingIn(
  deps: { redis: Redis; keys: QueueKeys; now: () => number; logger: Logger },
  streams: readonly string[],
): Promise<void> {
  let added = 0;
  for (const key of streams) added += await indexWaiting(deps.redis, deps.keys, key, deps.now());
  if (added > 0) deps.logger.info({ tasks: added }, 'indexed waiting tasks that were in no wait set');
}
