/**
 * An operator's drains on this tracker (core's tracker-drains.ts): a drained tracker finishes what
 * it runs and takes nothing new (`pool.drain`); a drained GPU keeps the task it runs until that
 * ends and is then given to no other (`pool.hold(id, {kind: 'drained'})`). The drains hash is the
 * truth: it is read at start (the first registration, before the first take), at each heartbeat,
 * and at once when the API's `drain` or `undrain` message arrives on the control stream, so a
 * missed message or a restart converges within a heartbeat. Each change is logged once, with the
 * `drain-changed` event.
 *
 * A GPU held for another reason (a foreign process, a task's processes still leaving it) keeps that
 * hold; its drain is applied when the other hold goes (the pool's change listener), so it is never
 * given out in between. Taking a drain back gives back only the hold this put on; an `undrain`
 * message naming a GPU also gives back a `drained` hold the tracker put on by itself (an operator
 * who undrains a GPU wants it back).
 */
import type { Redis } from 'ioredis';
import {
  DRAIN_COMMANDS,
  isRedisUnavailable,
  readDrains,
  type DrainRecord,
  type Logger,
  type QueueKeys,
  type TrackerDrainState,
} from '@gpufleet/core';
import type { ControlMessage } from './control-reader.js';
import type { SlotPool } from './slot-pool.js';
import { eventField, type EmitTrackerEvent } from './tracker-events.js';

export interface TrackerDrainsDeps {
  redis: Redis;
  keys: QueueKeys;
  /** The tracker's consumer name: its drains' hash fields. */
  consumer: string;
  pool: SlotPool;
  logger: Logger;
  emit: EmitTrackerEvent;
}

/** What an `undrain` message names: the whole tracker (`gpu` null) or one GPU. */
export interface UndrainRequest {
  gpu: number | null;
}

/** A drain message: `{}` for `drain`, the undrain's target for `undrain`; null for any other message. */
export function drainMessage(message: ControlMessage): { undrain: UndrainRequest | null } | null {
  if (message.cmd !== DRAIN_COMMANDS.drain && message.cmd !== DRAIN_COMMANDS.undrain) return null;
  if (message.cmd === DRAIN_COMMANDS.drain) return { undrain: null };
  const gpu = message.fields.get('gpu');
  return { undrain: { gpu: gpu === undefined || gpu === '' ? null : Number(gpu) } };
}

function same(a: DrainRecord | null | undefined, b: DrainRecord | null | undefined): boolean {
  return (a ?? null) === (b ?? null) || (!!a && !!b && a.reason === b.reason && a.by === b.by);
}

export class TrackerDrains {
  /** The drains this tracker follows, as last read. */
  private tracker: DrainRecord | null = null;
  private gpus = new Map<number, DrainRecord>();
  private syncing: Promise<unknown> = Promise.resolve();
  /** A read failed for a reason other than Redis being down (logged once until one works). */
  private failing = false;

  constructor(private readonly deps: TrackerDrainsDeps) {
    // A hold of another kind gone from a drained GPU: hold it for the drain before anything takes it.
    deps.pool.onChange(() => this.enforce(false));
  }

  /**
   * Reads the drains and applies them (one at a time); `undrain`: an undrain message's target.
   * Resolves whether anything changed. Throws when Redis is unreachable; any other failure is
   * logged (once) and resolves false, so the heartbeat that calls it still registers.
   */
  sync(undrain: UndrainRequest | null = null): Promise<boolean> {
    const run = this.syncing.then(() => this.readAndApply(undrain));
    this.syncing = run.catch(() => undefined);
    return run;
  }

  private async readAndApply(undrain: UndrainRequest | null): Promise<boolean> {
    const { redis, keys, consumer, pool, logger } = this.deps;
    let state: TrackerDrainState;
    try {
      state = await readDrains(redis, keys, consumer, pool.gpuIds);
    } catch (error) {
      if (isRedisUnavailable(error)) throw error;
      if (!this.failing) logger.warn({ err: error }, 'could not read the drains; keeping the ones applied');
      this.failing = true;
      return false;
    }
    if (this.failing) logger.info('drains read again');
    this.failing = false;
    return this.apply(state, undrain);
  }

  /** Follows `state`: announces each change, then gives back what is no longer drained and holds the rest. */
  apply(state: TrackerDrainState, undrain: UndrainRequest | null = null): boolean {
    const { pool } = this.deps;
    const before = { tracker: this.tracker, gpus: this.gpus };
    this.tracker = state.tracker;
    this.gpus = new Map([...state.gpus].filter(([gpu]) => pool.gpuIds.includes(gpu)));
    let changed = false;
    if (!same(before.tracker, state.tracker)) {
      this.announce(null, state.tracker);
      changed = true;
    }
    for (const gpu of pool.gpuIds) {
      const had = before.gpus.get(gpu);
      const want = this.gpus.get(gpu);
      if (!same(had, want)) {
        this.announce(gpu, want ?? null);
        changed = true;
      }
      const hold = pool.heldGpus.get(gpu);
      if (want || hold?.kind !== 'drained') continue;
      if (had?.reason === hold.reason) pool.unhold(gpu, 'drained');
      else if (undrain?.gpu === gpu) {
        // A drain the tracker put on by itself (a settle that timed out), given back by hand.
        pool.unhold(gpu, 'drained');
        this.announce(gpu, null);
        changed = true;
      }
    }
    if (state.tracker) pool.drain(state.tracker.reason);
    else if (pool.drained !== null && (before.tracker !== null || (undrain && undrain.gpu === null)))
      pool.drain(null);
    this.enforce(true);
    return changed;
  }

  /**
   * Holds every drained GPU that has no hold; `replace`: also one held `drained` for another reason
   * (an explicit read; the change listener leaves those, so that two holders never take turns).
   */
  private enforce(replace: boolean): void {
    const { pool } = this.deps;
    for (const [gpu, drain] of this.gpus) {
      const hold = pool.heldGpus.get(gpu);
      if (!hold || (replace && hold.kind === 'drained' && hold.reason !== drain.reason))
        pool.hold(gpu, { kind: 'drained', reason: drain.reason });
    }
  }

  private announce(gpu: number | null, drain: DrainRecord | null): void {
    const payload = { gpu, reason: drain?.reason ?? null, by: drain?.by ?? null };
    const what = gpu === null ? 'the tracker takes no new task' : `GPU ${gpu} takes no new task`;
    this.deps.logger.info(
      { ...payload, ...eventField('drain-changed') },
      drain ? `drained by an operator: ${what}` : 'undrained by an operator',
    );
    this.deps.emit('drain-changed', payload);
  }
}
