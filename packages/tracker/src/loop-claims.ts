/**
 * What the consumer loop does with what it claimed or read: a claim starts its task on the GPU
 * count of its stream (the `claimed` event) or says that it dead-lettered the task instead
 * (`dead-lettered`); an entry a blocking read delivered is claimed, or put back first in line,
 * unclaimed, when it no longer fits.
 */
import type { Redis } from 'ioredis';
import {
  claimDelivered,
  newToken,
  requeueOrphan,
  type Claim,
  type ClaimJustReadResult,
  type ClaimResult,
  type Logger,
  type QueueKeys,
  type TakeResult,
} from '@gpufleet/core';
import type { SlotPool } from './slot-pool.js';
import { eventField, type EmitTrackerEvent } from './tracker-events.js';

/** What the consumer loop's claims need (part of its dependencies). */
export interface LoopClaimDeps {
  redis: Redis;
  keys: QueueKeys;
  pool: SlotPool;
  consumer: string;
  leaseMs: number;
  logger: Logger;
  now: () => number;
  emit: EmitTrackerEvent;
  /** Starts a claimed task on the given number of GPUs (the loop has checked it fits). */
  launch: (claim: Claim, gpus: number) => void | Promise<void>;
}

/** Starts what a claim took, on the GPU count of its stream; says so when the claim dead-lettered the task instead. */
export async function settleClaim(
  deps: LoopClaimDeps,
  gpusOf: (stream: string) => number,
  result: TakeResult | ClaimResult | ClaimJustReadResult | null,
): Promise<void> {
  if (result?.kind === 'claimed') {
    const { taskId, attempt, stream, suspect } = result.claim;
    const claimed = { taskId, attempt, stream, gpus: gpusOf(stream), suspect };
    deps.logger.debug({ ...claimed, ...eventField('claimed') }, 'task claimed');
    deps.emit('claimed', claimed);
    await deps.launch(result.claim, claimed.gpus);
  } else if (result?.kind === 'dead') {
    const { taskId, reason } = result;
    deps.logger.warn({ taskId, reason, ...eventField('dead-lettered') }, 'task dead-lettered at claim');
    deps.emit('dead-lettered', { taskId, reason });
  }
}

/**
 * Claims an entry the blocking read delivered. One that no longer fits (the read returns an entry
 * of each stream that had one) goes back first in line, unclaimed, for any tracker to take.
 */
export async function claimRead(
  deps: LoopClaimDeps,
  gpusOf: (stream: string) => number,
  entry: { stream: string; entryId: string; taskId: string },
): Promise<void> {
  const { stream, entryId, taskId } = entry;
  if (!deps.pool.fitsNow(gpusOf(stream))) {
    const result = await requeueOrphan(deps.redis, deps.keys, {
      stream,
      entryId,
      taskId,
      holder: deps.consumer,
      minIdleMs: 0,
      holderDead: false,
      alone: false,
      reason: '',
      now: deps.now(),
    });
    deps.logger.debug({ taskId, stream, result }, 'read more than fits; put the entry back first in line');
    return;
  }
  const result = await claimDelivered(deps.redis, deps.keys, {
    consumer: deps.consumer,
    stream,
    entryId,
    taskId,
    leaseMs: deps.leaseMs,
    token: newToken(),
    now: deps.now(),
  });
  await settleClaim(deps, gpusOf, result);
}
