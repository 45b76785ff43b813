/**
 * An attempt's writes (attempt-writes.ts) announced as tracker events: the log line each write
 * already makes is marked with the event its Redis reply stands for (`completed`, or `lost` for a
 * refused completion; `handed-back`; `retry-queued`), and the event is emitted once it is written.
 */
import type { Claim, Fields, Logger } from '@gpufleet/core';
import type { TaskFailure } from '../errors.js';
import { AttemptWrites, type Retry } from './attempt-writes.js';
import { outcomeOf, type TaskOutcome } from './task-outcome.js';
import type { TaskExecutionDeps } from './attempt-types.js';
import { eventField, type TrackerEventName } from '../tracker-events.js';

export class AnnouncedWrites {
  private readonly attempt: { taskId: string; attempt: number };

  constructor(
    private readonly deps: Pick<TaskExecutionDeps, 'redis' | 'keys' | 'now' | 'emit'>,
    private readonly claim: Claim,
    private readonly logger: Logger,
    private readonly retry: Retry,
  ) {
    this.attempt = { taskId: claim.taskId, attempt: claim.attempt };
  }

  /** Writes the final status: `completed`, or `lost` when another attempt holds the task now. */
  async complete(end: TaskOutcome, fields?: Fields): Promise<void> {
    const written = await this.write(
      (ok) => (ok ? { name: 'completed' } : { name: 'lost', fields: { stage: 'completion' } }),
      (writes) => writes.complete(end, fields),
    );
    const { status, error: reason, errorCode } = end;
    if (written === true) this.deps.emit('completed', { ...this.attempt, status, reason, errorCode });
    else if (written === false) this.deps.emit('lost', { ...this.attempt, stage: 'completion' });
  }

  /** Ends the task with a failure found before its process started (see attempt-prepare.ts). */
  fail(failure: TaskFailure): Promise<void> {
    return this.complete(outcomeOf(failure));
  }

  /** Gives the task back first in line (the tracker is shutting down): `handed-back`. */
  async handBack(reason: string): Promise<void> {
    const given = await this.write(
      () => ({ name: 'handed-back' }),
      (writes) => writes.handBack(reason),
    );
    this.deps.emit('handed-back', { ...this.attempt, reason, handedBack: given === true, started: true });
  }

  /** Queues the task again after `delayMs`: `retry-queued`. */
  async queueRetry(reason: string, delayMs: number, fields: Fields): Promise<void> {
    const queued = await this.write(
      () => ({ name: 'retry-queued' }),
      (writes) => writes.queueRetry(reason, delayMs, fields),
    );
    this.deps.emit('retry-queued', { ...this.attempt, delayMs, queued: queued === true });
  }

  /** Status `uploading` (no event: a refusal is announced as `lost` by the caller, which logs it). */
  setUploading(): Promise<boolean> {
    return new AttemptWrites(this.deps, this.claim, this.logger, this.retry).setUploading();
  }

  /**
   * Runs one write with a logger of its own whose line gets the event (and fields) that the write's
   * Redis reply stands for: the reply comes back through `retry` before the write logs. Returns
   * that reply (null when none came).
   */
  private async write(
    eventOf: (ok: boolean) => { name: TrackerEventName; fields?: Record<string, unknown> },
    run: (writes: AttemptWrites) => Promise<void>,
  ): Promise<boolean | null> {
    const logger = this.logger.child({});
    let reply: boolean | null = null;
    const observed: Retry = async (what, op) => {
      const result = await this.retry(what, op);
      if (reply === null && typeof result === 'boolean') {
        reply = result;
        const { name, fields } = eventOf(result);
        logger.setBindings({ ...eventField(name), ...fields });
      }
      return result;
    };
    await run(new AttemptWrites(this.deps, this.claim, logger, observed));
    return reply;
  }
}
