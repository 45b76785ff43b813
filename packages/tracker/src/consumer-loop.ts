/**
 * The consumer loop, the only place that starts tasks: while there is a free slot, take the first
 * task in line that fits (requeued tasks before waiting ones, then the oldest; one Lua step that
 * reads and claims it), start it, and go on; when no task is waiting, block on the streams of the
 * tasks that fit the free slots, with the claim of what arrives sent right behind the read. A
 * release of slots that changes what fits interrupts the block (CLIENT UNBLOCK), so a freed slot
 * is filled at once. Errors back off (capped), never spin. What it claims is handled in
 * loop-claims.ts; each blocking read is the `waiting-for-tasks` event.
 */
import type { Redis } from 'ioredis';
import {
  claimJustRead,
  isRedisUnavailable,
  loopUntilAborted,
  newToken,
  settlesWithin,
  streamReadReply,
  takeTask,
  TRACKER_GROUP,
  untilAborted,
  type OutageReporter,
} from '@gpufleet/core';
import { claimRead, settleClaim, type LoopClaimDeps } from './loop-claims.js';
import { BUSY_BLOCK_MS, loopStreams, settledEntry, type LoopStream } from './loop-streams.js';

export interface ConsumerLoopDeps extends LoopClaimDeps {
  blocking: Redis;
  blockMs: number;
  outage: OutageReporter;
}

const MAX_BACKOFF_MS = 2000;

/** How long a stop waits for an unblocked read to return before it drops the connection. */
const STOP_WAIT_MS = 1000;

export class ConsumerLoop {
  private readonly abort = new AbortController();
  /** Aborted when the stop drops the blocking connection: its pending replies will never come. */
  private readonly dropped = new AbortController();
  private blockedOn: string | null = null;
  private blockingClientId: number | null = null;
  /**
   * The streams this tracker reads, two per GPU count it can ever run: the requeued streams first
   * (their tasks go before every waiting one), then the task streams.
   */
  readonly streams: readonly LoopStream[];
  private done: Promise<void> | null = null;

  constructor(private readonly deps: ConsumerLoopDeps) {
    this.streams = loopStreams(deps.keys, deps.pool);
    deps.blocking.on('ready', () => void this.refreshClientId());
  }

  /** Creates each stream's consumer group (MKSTREAM; BUSYGROUP means it exists). */
  async ensureGroups(): Promise<void> {
    for (const { key } of this.streams) {
      try {
        await this.deps.redis.xgroup('CREATE', key, TRACKER_GROUP, '0', 'MKSTREAM');
      } catch (error) {
        if (!(error instanceof Error && error.message.includes('BUSYGROUP'))) throw error;
      }
    }
  }

  start(): Promise<void> {
    this.done ??= this.run();
    return this.done;
  }

  /**
   * Stops taking tasks. A blocked read is interrupted (CLIENT UNBLOCK); when Redis cannot be told
   * (it is down), the blocking connection is dropped, so the read and the claim queued behind it
   * are never sent: nothing is claimed after the stop.
   */
  async stop(): Promise<void> {
    this.abort.abort();
    const unblocked = await this.unblock();
    // An UNBLOCK that overtook the read it was meant for leaves the read blocked: do not wait a block.
    if (!unblocked || !(await settlesWithin(this.done, STOP_WAIT_MS))) {
      this.deps.blocking.disconnect();
      this.dropped.abort();
    }
    await this.done;
  }

  /** Called after slots are released: if what fits changed while blocked, block again with the new set. */
  slotsChanged(): void {
    if (this.blockedOn !== null && this.blockedOn !== this.fitSignature()) void this.unblock();
  }

  /** What the free slots allow: which streams fit, and whether the tracker is idle (a suspect's condition). */
  private fitSignature(): string {
    const fits = this.streams.map((s) => (this.deps.pool.fitsNow(s.gpus) ? 1 : 0)).join('');
    return `${fits}${this.deps.pool.busy ? 'b' : 'i'}`;
  }

  private async refreshClientId(): Promise<void> {
    try {
      this.blockingClientId = Number(await this.deps.blocking.client('ID'));
    } catch {
      this.blockingClientId = null;
    }
  }

  /** Interrupts a blocked read; false when one may still be blocked (Redis could not be told). */
  private async unblock(): Promise<boolean> {
    if (this.blockedOn === null) return true;
    if (this.blockingClientId === null) return false;
    try {
      await this.deps.redis.client('UNBLOCK', this.blockingClientId);
      return true;
    } catch (error) {
      this.deps.logger.debug({ err: error }, 'could not unblock the blocking read');
      return false;
    }
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const step = async (): Promise<void> => {
      if (!this.streams.some((s) => this.deps.pool.fitsNow(s.gpus))) await this.deps.pool.nextRelease(signal);
      else await this.step();
    };
    await loopUntilAborted(signal, step, {
      baseMs: 50,
      maxMs: MAX_BACKOFF_MS,
      onFailure: async (error, failures) => {
        if (/NOGROUP|no such key/i.test(String(error))) {
          this.deps.logger.warn({ err: error }, 'task stream or consumer group missing; recreating');
          await this.ensureGroups().catch(() => undefined);
        } else if (isRedisUnavailable(error)) {
          this.deps.outage.report(error, { in: 'consumer loop' });
        } else if (failures === 1 || failures % 30 === 0) {
          this.deps.logger.error({ err: error, failures }, 'consumer loop error; backing off');
        }
      },
    });
  }

  private async step(): Promise<void> {
    const { pool, keys } = this.deps;
    const result = await takeTask(this.deps.redis, keys, {
      consumer: this.deps.consumer,
      streams: this.streams.map((s) => ({ key: s.key, fitsNow: pool.fitsNow(s.gpus), requeued: s.requeued })),
      leaseMs: this.deps.leaseMs,
      token: newToken(),
      now: this.deps.now(),
      idle: !pool.busy,
    });
    switch (result.kind) {
      case 'claimed':
      case 'dead':
        await settleClaim(this.deps, this.gpusOf, result);
        return;
      case 'held':
        this.deps.logger.warn(
          { taskId: result.taskId },
          'undelivered entry of a task another tracker holds; skipped',
        );
        return;
      case 'wait':
        await this.waitForChange(result.lastEventId);
        return;
      case 'empty':
        await this.blockingRead(result.lastDelivered);
    }
  }

  /**
   * The first task in line does not fit this tracker's free slots: wait until something may change
   * that, then take again: one of its slots frees (`slotsChanged` interrupts the read), or any task
   * of the queue changes status after the take looked (another tracker took that task, a task was
   * requeued ahead of it...), seen as an entry of the events stream after `lastEventId`; at most a
   * block (1 s at most). Waiting on a timer alone left up to a second of free GPUs unused.
   */
  private async waitForChange(lastEventId: string): Promise<void> {
    if (this.blockingClientId === null) await this.refreshClientId();
    if (this.abort.signal.aborted) return; // stopped meanwhile: a read now would not be unblocked
    this.blockedOn = this.fitSignature();
    try {
      const blockMs = Math.min(this.deps.blockMs, 1000);
      const read = this.deps.blocking.xread(
        'COUNT',
        1,
        'BLOCK',
        blockMs,
        'STREAMS',
        this.deps.keys.events,
        lastEventId,
      );
      // As for the blocking read: a stop drops a connection that cannot reach Redis.
      await untilAborted(read, this.dropped.signal, null);
    } finally {
      this.blockedOn = null;
    }
  }

  private readonly gpusOf = (stream: string): number => this.streams.find((s) => s.key === stream)?.gpus ?? 0;

  /**
   * Blocks until a task arrives on a stream that fits. The claim rides behind the read on the same
   * connection (claimJustRead), so a task that arrives is read and claimed in one round trip;
   * without the take's last-delivered ids, or when that claim fails, the entry the read returned
   * is claimed after it. A busy tracker leaves the requeued streams out (see BUSY_BLOCK_MS).
   */
  private async blockingRead(lastDelivered?: Record<string, string>): Promise<void> {
    const { pool } = this.deps;
    const idle = !pool.busy;
    const fit = this.streams.filter((s) => pool.fitsNow(s.gpus) && (idle || !s.requeued));
    // Nothing fits any more (slots were taken since the take): a read needs at least one stream.
    if (fit.length === 0) return;
    if (this.blockingClientId === null) await this.refreshClientId();
    if (this.abort.signal.aborted) return; // stopped meanwhile: a read now would not be unblocked
    this.blockedOn = this.fitSignature();
    const read = this.deps.blocking
      .xreadgroup(
        'GROUP',
        TRACKER_GROUP,
        this.deps.consumer,
        'COUNT',
        1,
        'BLOCK',
        idle ? this.deps.blockMs : Math.min(this.deps.blockMs, BUSY_BLOCK_MS),
        'STREAMS',
        ...fit.map((s) => s.key),
        ...fit.map(() => '>'),
      )
      .then(streamReadReply);
    const after = fit.map((s) => ({ key: s.key, after: lastDelivered?.[s.key] ?? '' }));
    const claiming = after.every((s) => s.after !== '')
      ? claimJustRead(this.deps.blocking, this.deps.keys, {
          consumer: this.deps.consumer,
          streams: after,
          leaseMs: this.deps.leaseMs,
          token: newToken(),
        }).catch((error: unknown) => {
          this.deps.logger.debug({ err: error }, 'the claim behind the read failed; claiming after it');
          return null;
        })
      : null;
    this.deps.emit('waiting-for-tasks', { streams: fit.map((s) => s.key) });
    let reply: Awaited<typeof read> = null;
    let readError: unknown = null;
    try {
      // A stop drops a connection that cannot reach Redis; ioredis then keeps the read queued
      // (unsent, never answered) instead of failing it, so the wait ends with the stop.
      reply = await untilAborted(read, this.dropped.signal, null);
    } catch (error) {
      readError = error;
    } finally {
      this.blockedOn = null;
    }
    // What the claim behind the read took is this tracker's to run, whatever became of the read.
    const claimed = await untilAborted(claiming ?? Promise.resolve(null), this.dropped.signal, null);
    await settleClaim(this.deps, this.gpusOf, claimed);
    if (readError) throw readError;
    for (const [stream, entries] of reply ?? []) {
      for (const [entryId, fields] of entries) {
        const taskId = fields[1] ?? '';
        if (entryId !== settledEntry(claimed))
          await claimRead(this.deps, this.gpusOf, { stream, entryId, taskId });
      }
    }
  }
}
