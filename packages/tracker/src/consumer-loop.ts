/**
 * The consumer loop, the only place that starts tasks: while there is a free slot, take the first
 * task in the scheduling order that this tracker may run (one Lua step that picks and claims it),
 * start it, and go on. When nothing can be taken, block on the queue's events stream from the last
 * entry the take saw, with the next take sent right behind the read on the same connection: any
 * change to the queue (a task queued, another tracker taking the first in line, a priority changed)
 * ends the read and the take runs at once, in the same round trip. A release of slots that changes
 * what fits interrupts the read (CLIENT UNBLOCK), so a freed slot is filled at once. Errors back off
 * (capped), never spin. What it claims is handled in loop-claims.ts; each blocking read is the
 * `waiting-for-tasks` event.
 */
import type { Redis } from 'ioredis';
import {
  isRedisUnavailable,
  loopUntilAborted,
  newToken,
  settlesWithin,
  takeTask,
  untilAborted,
  type OutageReporter,
  type QueueKeys,
  type TakeResult,
} from '@gpufleet/core';
import { settleClaim, type LoopClaimDeps } from './loop-claims.js';
import { ensureGroups, indexWaitingIn, loopSizes, loopStreams } from './loop-streams.js';
import { gpuGroupsOf } from './gpu/gpu-groups.js';
import { shadowTime, type ExpectedEnd } from './shadow-times.js';
import { mayCallForPreemption, type Preempter } from './preemption.js';
import type { SlotPool } from './slot-pool.js';

export interface ConsumerLoopDeps extends LoopClaimDeps {
  redis: Redis;
  keys: QueueKeys;
  pool: SlotPool;
  consumer: string;
  leaseMs: number;
  now: () => number;
  blocking: Redis;
  blockMs: number;
  outage: OutageReporter;
  /** The running tasks' GPUs and when their time limits end them (backfill's shadow times). */
  expectedEnds?: () => ExpectedEnd[];
  /** Stops running tasks of lower priority for a first task in line that does not fit (preemption.ts). */
  preempter?: Pick<Preempter, 'watching' | 'consider' | 'lowestPriority'>;
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
  /** The GPU counts this tracker can ever run (0: a CPU slot). */
  readonly sizes: readonly number[];
  /** The streams of those sizes (requeued and task streams), where its claims' entries live. */
  readonly streams: readonly string[];
  /** The reply of the take sent behind the last read, with what fitted when it was sent. */
  private behind: { result: TakeResult; fit: string } | null = null;
  private done: Promise<void> | null = null;

  constructor(private readonly deps: ConsumerLoopDeps) {
    this.sizes = loopSizes(deps.pool);
    this.streams = loopStreams(deps.keys, deps.pool);
    deps.blocking.on('ready', () => void this.refreshClientId());
    // A GPU held back or given out again, a drain: what fits changed without a task.
    deps.pool.onChange(() => this.slotsChanged());
  }

  /** Creates each stream's consumer group (loop-streams.ts). */
  ensureGroups(): Promise<void> {
    return ensureGroups(this.deps.redis, this.streams);
  }

  /** Indexes what waits in no wait set (loop-streams.ts). */
  indexWaiting(): Promise<void> {
    return indexWaitingIn(this.deps, this.streams);
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

  /**
   * Whether to look at the queue: a size fits the free slots, or every slot is taken but a
   * preemption could start here (the first in line is then watched for, never taken while it
   * does not fit).
   */
  private looking(): boolean {
    return (
      this.sizes.some((gpus) => this.deps.pool.fitsNow(gpus)) ||
      this.deps.pool.canShare ||
      (this.deps.pool.drained === null && (this.deps.preempter?.watching ?? false))
    );
  }

  /**
   * What the free slots allow: which sizes fit, whether the tracker is idle (a suspect's condition)
   * and, for GPUs of several models or memory sizes, which are free (a GPU request's fit).
   */
  private fitSignature(): string {
    const { pool } = this.deps;
    const fits = this.sizes.map((gpus) => (pool.fitsNow(gpus) ? 1 : 0)).join('');
    const which = pool.mixed ? [...pool.freeGpuIds].sort((a, b) => a - b).join(',') : '';
    // While GPUs are shared, the room each leaves (a share that ended makes room for another).
    const rooms =
      pool.sharedGpuIds.length > 0 ? pool.gpuIds.map((id) => pool.shareRoomMiB(id) ?? '-').join(',') : '';
    return `${fits}${pool.busy ? 'b' : 'i'}${which}/${rooms}`;
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
      if (!this.looking()) await this.deps.pool.nextRelease(signal);
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

  private takeRequest(now: number | null): Parameters<typeof takeTask>[2] {
    const { pool } = this.deps;
    const ends = this.deps.expectedEnds?.() ?? null;
    const at = this.deps.now();
    const shadowMs = (gpus: number): number | null =>
      ends && gpus > 0 ? shadowTime(gpus, pool.freeGpuCount, ends, at) : null;
    return {
      consumer: this.deps.consumer,
      sizes: this.sizes.map((gpus) => ({ gpus, fitsNow: pool.fitsNow(gpus), shadowMs: shadowMs(gpus) })),
      gpuGroups: gpuGroupsOf(pool, ends ?? [], at),
      leaseMs: this.deps.leaseMs,
      token: newToken(),
      now,
      idle: !pool.busy,
    };
  }

  private async step(): Promise<void> {
    // The take behind the last read answered for the slots as they were then; used while they are.
    const behind = this.behind;
    this.behind = null;
    const result =
      behind && behind.fit === this.fitSignature()
        ? behind.result
        : await takeTask(this.deps.redis, this.deps.keys, this.takeRequest(this.deps.now()));
    switch (result.kind) {
      case 'claimed':
      case 'dead':
        await settleClaim(this.deps, result);
        return;
      case 'held':
        this.deps.logger.warn(
          { taskId: result.taskId },
          'waiting entry of a task another tracker holds; skipped',
        );
        return;
      case 'wait':
        if (result.taskId) await this.deps.preempter?.consider(result);
        await this.waitForChange(result);
        return;
      case 'empty':
        await this.waitForChange(result);
    }
  }

  /**
   * Nothing can be taken now: wait until something may change that, with the next take sent right
   * behind the read. One of this tracker's slots frees (`slotsChanged` interrupts the read), or
   * any task of the queue changes after the take looked (a task was queued, another tracker took
   * the first in line, a priority changed...), seen as an entry of the events stream after
   * `lastEventId`; at most a block (1 s at most while a task waits that this tracker could run
   * later). The take behind the read runs the moment the read returns, on Redis's clock, and both
   * replies come back together: one round trip from a task's arrival to its claim. Its fits are
   * those of the slots when it was sent: slots only free meanwhile (this loop is the only one that
   * fills them), so it never takes what does not fit.
   */
  private async waitForChange(result: { kind: 'wait' | 'empty'; lastEventId: string }): Promise<void> {
    // Its slots were filled while the take was on its way: wait for a slot (run()), not for the queue.
    if (!this.looking()) return;
    if (this.blockingClientId === null) await this.refreshClientId();
    const { pool } = this.deps;
    if (!this.sizes.some((gpus) => pool.fitsNow(gpus)) && !pool.canShare)
      return this.watch(result.lastEventId);
    if (this.abort.signal.aborted) return; // stopped meanwhile: a read now would not be unblocked
    const fit = this.fitSignature();
    this.blockedOn = fit;
    const blockMs = result.kind === 'wait' ? Math.min(this.deps.blockMs, 1000) : this.deps.blockMs;
    const read = this.deps.blocking.xread(
      'COUNT',
      1,
      'BLOCK',
      blockMs,
      'STREAMS',
      this.deps.keys.events,
      result.lastEventId,
    );
    const taking = takeTask(this.deps.blocking, this.deps.keys, this.takeRequest(null)).catch(
      (error: unknown) => {
        this.deps.logger.debug({ err: error }, 'the take behind the read failed; taking after it');
        return null;
      },
    );
    this.deps.emit('waiting-for-tasks', { after: result.lastEventId });
    let readError: unknown = null;
    try {
      // A stop drops a connection that cannot reach Redis; ioredis then keeps the read queued
      // (unsent, never answered) instead of failing it, so the wait ends with the stop.
      await untilAborted(read, this.dropped.signal, null);
    } catch (error) {
      readError = error;
    } finally {
      this.blockedOn = null;
    }
    // What the take behind the read claimed is this tracker's to run, whatever became of the read.
    const taken = await untilAborted(taking, this.dropped.signal, null);
    if (taken?.kind === 'claimed' || taken?.kind === 'dead') await settleClaim(this.deps, taken);
    else if (taken) this.behind = { result: taken, fit };
    if (readError) throw readError;
  }

  /**
   * Every slot is taken, but a running task may be preempted: wait for what could call for a
   * preemption, a task queued (or re-prioritised) above the lowest priority running here, as the
   * events stream's entries say, rather than take on every change of the queue (a fleet full of
   * preemptible tasks would take on every completion). A slot freeing interrupts the read
   * (`slotsChanged`); a block with no such entry ends the wait too, and the next take looks anyway.
   */
  private async watch(after: string): Promise<void> {
    const fit = this.fitSignature();
    let last = after;
    while (!this.abort.signal.aborted && this.fitSignature() === fit) {
      const lowest = this.deps.preempter?.lowestPriority() ?? null;
      if (lowest === null) return;
      this.blockedOn = fit;
      this.deps.emit('waiting-for-tasks', { after: last });
      let entries: Array<[id: string, fields: string[]]>;
      try {
        const read = this.deps.blocking.xread(
          'COUNT',
          100,
          'BLOCK',
          this.deps.blockMs,
          'STREAMS',
          this.deps.keys.events,
          last,
        );
        entries = (await untilAborted(read, this.dropped.signal, null))?.[0]?.[1] ?? [];
      } finally {
        this.blockedOn = null;
      }
      if (entries.length === 0 || entries.some(([, fields]) => mayCallForPreemption(fields, lowest))) return;
      last = entries[entries.length - 1]?.[0] ?? last;
    }
  }
}
