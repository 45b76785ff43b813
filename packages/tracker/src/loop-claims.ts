/**
 * What the consumer loop does with what a take claimed: it starts the task on the GPUs it asked
 * for (the `claimed` event), or says that the take dead-lettered the task instead (`dead-lettered`)
 * and gives the task's live log stream, written by its earlier attempts, its grace to live (core
 * task-log-expiry.ts).
 */
import type { Redis } from 'ioredis';
import {
  DEFAULT_LOG_GRACE_MS,
  expireTaskLog,
  type Claim,
  type Logger,
  type QueueKeys,
  type TakeResult,
} from '@gpufleet/core';
import { eventField, type EmitTrackerEvent } from './tracker-events.js';

/** What settling a claim needs (part of the consumer loop's dependencies). */
export interface LoopClaimDeps {
  redis: Redis;
  keys: QueueKeys;
  logger: Logger;
  emit: EmitTrackerEvent;
  /** Starts a claimed task on the given number of GPUs (the loop has checked it fits). */
  launch: (claim: Claim, gpus: number) => void | Promise<void>;
  /** How long a dead-lettered task's live log stream stays (default DEFAULT_LOG_GRACE_MS). */
  logGraceMs?: number;
  /**
   * A tracker fronting SLURM: cancels the SLURM job (by id) that an earlier attempt of a task it
   * dead-letters left running (that attempt's tracker died: no later attempt will start to do it).
   */
  cancelSlurmJob?: (jobId: string) => Promise<void>;
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
    if (deps.cancelSlurmJob) {
      const job = await deps.redis.hget(deps.keys.task(taskId), 'slurmJobId').catch(() => null);
      if (job) await deps.cancelSlurmJob(job);
    }
    // Not retried: the retention sweep removes a stream left without its TTL with the task.
    await expireTaskLog(deps.redis, deps.keys, taskId, deps.logGraceMs ?? DEFAULT_LOG_GRACE_MS).catch(
      (error: unknown) => deps.logger.warn({ err: error, taskId }, 'could not set the live log’s expiry'),
    );
  }
}
