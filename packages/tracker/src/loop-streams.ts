/**
 * The streams a tracker's consumer loop reads, two per GPU count it can ever run (a CPU slot counts
 * as 0 GPUs): the requeued streams first, since their tasks go before every waiting one, then the
 * task streams; and which entry of a blocking read the claim behind it dealt with.
 */
import type { ClaimJustReadResult, QueueKeys } from '@gpufleet/core';
import type { SlotPool } from './slot-pool.js';

/** One stream the loop takes from: a task stream, or the requeued stream of the same GPU count. */
export interface LoopStream {
  key: string;
  gpus: number;
  requeued: boolean;
}

/**
 * How long a busy tracker with free slots blocks at most. It does not read the requeued streams
 * (a suspect among them must wait for an idle tracker, and a read would deliver it), so it looks
 * at them with a take this often; an idle tracker reads them and is woken at once.
 */
export const BUSY_BLOCK_MS = 250;

export function loopStreams(keys: QueueKeys, pool: SlotPool): LoopStream[] {
  const counts = [...(pool.cpuSlots > 0 ? [0] : []), ...pool.gpuIds.map((_, i) => i + 1)];
  return [
    ...counts.map((gpus) => ({ key: keys.requeued(gpus), gpus, requeued: true })),
    ...counts.map((gpus) => ({ key: keys.tasks(gpus), gpus, requeued: false })),
  ];
}

/** The entry the claim behind the read dealt with (claimed, dead-lettered or removed), if any. */
export function settledEntry(result: ClaimJustReadResult | null): string | null {
  if (!result || result.kind === 'none') return null;
  return result.kind === 'claimed' ? result.claim.entryId : result.entryId;
}
