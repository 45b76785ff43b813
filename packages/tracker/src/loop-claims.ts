/**
 * What the consumer loop does with what a take claimed: it starts the task on the GPUs it asked
 * for (the `claimed` event), or says that the take dead-lettered the task instead (`dead-lettered`).
 */
import type { Claim, Logger, TakeResult } from '@gpufleet/core';
import { eventField, type EmitTrackerEvent } from './tracker-events.js';

/** What settling a claim needs (part of the consumer loop's dependencies). */
export interface LoopClaimDeps {
  logger: Logger;
  emit: EmitTrackerEvent;
  /** Starts a claimed task on the given number of GPUs (the loop has checked it fits). */
  launch: (claim: Claim, gpus: number) => void | Promise<void>;
}

/** Starts what a take claimed, on the GPUs its task asked for; says so when the take dead-lettered the task instead. */
export async function settleClaim(deps: LoopClaimDeps, result: TakeResult | null): Promise<void> {
  if (result?.kind === 'claimed') {
    const { taskId, attempt, stream, suspect, record } = result.claim;
    const claimed = { taskId, attempt, stream, gpus: record?.gpus ?? 0, suspect };
    deps.logger.debug({ ...claimed, ...eventField('claimed') }, 'task claimed');
    deps.emit('claimed', claimed);
    await deps.launch(result.claim, claimed.gpus);
  } else if (result?.kind === 'dead') {
    const { taskId, reason } = result;
    deps.logger.warn({ taskId, reason, ...eventField('dead-lettered') }, 'task dead-lettered at claim');
    deps.emit('dead-lettered', { taskId, reason });
  }
}
