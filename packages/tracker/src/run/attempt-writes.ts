/**
 * What an attempt writes to Redis about its task, each write fenced by its lease token and
 * retried through an outage (until a closing tracker gives up): the final status (with its reason
 * as `error` and its failure code as `errorCode`), the hand-back (shutdown, preemption, a GPU
 * fault), the `uploading` status, and a retry's requeue. Each write, once Redis answered, is
 * announced as the tracker event its reply stands for (`completed`, or `lost` for a refused
 * completion; `handed-back`; `retry-queued`), on its log line and to `emit`. Once the final status
 * is written, the task's live log stream is given GPUFLEET_LOG_GRACE_MS to live (core
 * task-log-expiry.ts): stdout.txt and stderr.txt among its outputs hold all of it.
 */
import {
  completeTask,
  expireTaskLog,
  releaseTask,
  setTaskStatus,
  type Claim,
  type Fields,
  type Logger,
} from '@gpufleet/core';
import type { TaskFailure } from '../errors.js';
import type { TaskExecutionDeps } from './attempt-types.js';
import { outcomeOf, type TaskOutcome } from './task-outcome.js';
import { eventField } from '../tracker-events.js';

export type Retry = <T>(what: string, op: () => Promise<T>) => Promise<T>;

export class AttemptWrites {
  private readonly attempt: { taskId: string; attempt: number };

  constructor(
    private readonly deps: Pick<TaskExecutionDeps, 'redis' | 'keys' | 'now' | 'emit' | 'logGraceMs'>,
    private readonly claim: Claim,
    private readonly logger: Logger,
    private readonly retry: Retry,
  ) {
    this.attempt = { taskId: claim.taskId, attempt: claim.attempt };
  }

  /**
   * Writes the final status, its reason and its failure code (cleared when it succeeded):
   * `completed`, or `lost` when another attempt holds the task now.
   */
  async complete(end: TaskOutcome, fields: Fields = {}): Promise<void> {
    const { redis, keys, now, emit } = this.deps;
    const { status, error: reason, errorCode } = end;
    const written = await this.retry('complete', () =>
      completeTask(redis, keys, this.claim, status, now(), reason, {
        error: reason,
        errorCode: errorCode ?? '',
        ...fields,
      }),
    );
    if (written) {
      this.logger.info(
        {
          status,
          reason: reason || undefined,
          errorCode: errorCode || undefined,
          ...eventField('completed'),
        },
        'task ended',
      );
      emit('completed', { ...this.attempt, status, reason, errorCode });
      await this.expireLiveLog();
    } else {
      this.logger.warn(
        { status, ...eventField('lost'), stage: 'completion' },
        'completion refused: this attempt lost the task to another one',
      );
      emit('lost', { ...this.attempt, stage: 'completion' });
    }
  }

  /**
   * Gives the final task's live log stream its grace (its followers read it to the end meanwhile).
   * Retried through an outage like the completion; a tracker that gives up on Redis first leaves
   * the stream to the retention sweep, which removes it with the task.
   */
  private async expireLiveLog(): Promise<void> {
    const { redis, keys, logGraceMs } = this.deps;
    await this.retry('expire live log', () =>
      expireTaskLog(redis, keys, this.claim.taskId, logGraceMs),
    ).catch((error: unknown) => this.logger.warn({ err: error }, 'could not set the live log’s expiry'));
  }

  /** Ends the task with a failure found before its process started (see attempt-prepare.ts). */
  fail(failure: TaskFailure): Promise<void> {
    return this.complete(outcomeOf(failure));
  }

  /**
   * Gives the task back first in line, this attempt not counted: the tracker is shutting down, the
   * task was preempted for task `preemptedBy`, or a GPU of it failed (`errorCode` GPU_ERROR,
   * recorded on the task with the reason as its `error`).
   */
  async handBack(reason: string, preemptedBy: string | null = null, errorCode?: 'GPU_ERROR'): Promise<void> {
    const { redis, keys, now, emit } = this.deps;
    const fields = errorCode ? { errorCode } : {};
    const given = await this.retry('hand back', () =>
      releaseTask(redis, keys, this.claim, now(), { reason, attempt: 'free', first: true, fields }),
    );
    this.logger.info(
      { handedBack: given, errorCode, ...eventField('handed-back') },
      'task handed back to the queue',
    );
    const preempted = preemptedBy === null ? {} : { preemptedBy };
    const code = errorCode ? { errorCode } : {};
    emit('handed-back', { ...this.attempt, reason, handedBack: given, started: true, ...preempted, ...code });
  }

  /** Status `uploading`; false when the attempt lost its task. */
  setUploading(): Promise<boolean> {
    const { redis, keys, now } = this.deps;
    return this.retry('set uploading', () => setTaskStatus(redis, keys, this.claim, 'uploading', now()));
  }

  /** Queues the task again after `delayMs`, one more failure counted, the attempt not counted. */
  async queueRetry(reason: string, delayMs: number, fields: Fields): Promise<void> {
    const { redis, keys, now, emit } = this.deps;
    const queued = await this.retry('queue retry', () =>
      releaseTask(redis, keys, this.claim, now(), {
        reason,
        attempt: 'free',
        delayMs,
        countFailure: true,
        fields,
      }),
    );
    this.logger.info({ queued, delayMs, ...eventField('retry-queued') }, 'failed attempt queued for a retry');
    emit('retry-queued', { ...this.attempt, delayMs, queued });
  }
}
