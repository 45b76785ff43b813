/**
 * The sizes a tracker's consumer loop takes (the GPU counts it can ever run; a CPU slot counts as
 * 0 GPUs) and the streams of those sizes, where its claimed entries live: two per size, the
 * requeued stream and the task stream (their consumer groups are created at start).
 */
import type { QueueKeys } from '@gpufleet/core';
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
