/**
 * Queue positions: how many waiting tasks a tracker takes before this one. Streams have no rank,
 * so the API keeps, per queue and task stream, the ids of the first `capPerStream` waiting entries
 * (entry ids are ordered queue-wide, and trackers take the oldest first), shared by every request;
 * a position is the sum of one binary search per stream.
 *
 * The snapshot is brought up to date at most once per `maxAgeMs`, incrementally: entries up to the
 * group's last-delivered id are dropped from the front, new ones read from after the last one seen
 * (usually none or a few, so a deep queue costs nothing per refresh). Entries removed from the middle
 * (a waiting task cancelled) are dropped by a full re-read every `fullRefreshMs`. So positions may
 * be up to `maxAgeMs` old, count a cancelled task ahead for up to `fullRefreshMs`, and past the cap
 * are a lower bound.
 *
 * A task being submitted uses `countWaiting`: the count of all waiting entries, O(1) per stream,
 * sent before its enqueue (the list of a queue's streams is cached: a stream made within
 * `maxAgeMs`, the first task of a new GPU count, is counted from the next read on).
 */
import type { Redis } from 'ioredis';
import {
  compareEntryIds,
  compareWaiting,
  entriesReply,
  readStreamGpuCounts,
  readTaskStreams,
  type QueueKeys,
  type TaskStreamState,
  type WaitingEntry,
  type WaitingKind,
} from '@gpufleet/core';

export interface QueuePositionsOptions {
  maxAgeMs?: number;
  fullRefreshMs?: number;
  capPerStream?: number;
}

interface StreamIds {
  /** A requeued stream: its entries go before those of every task stream. */
  requeued: boolean;
  /** Waiting entry ids, oldest first. */
  ids: string[];
  /** The newest id read so far: the next read starts after it. */
  lastSeen: string;
}

function kindOf(stream: StreamIds | undefined): WaitingKind {
  return stream?.requeued ? 'requeued' : 'waiting';
}

interface Snapshot {
  at: number;
  fullAt: number;
  streams: Map<string, StreamIds>;
}

/** How many ids of the sorted `ids` (all of one `kind`) are taken before `target`. */
function countBefore(ids: readonly string[], kind: WaitingKind, target: WaitingEntry): number {
  let low = 0;
  let high = ids.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareWaiting({ kind, entryId: ids[mid] as string }, target) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** How many ids of the sorted `ids` are smaller than `id`. */
function countOlder(ids: readonly string[], id: string): number {
  return countBefore(ids, 'waiting', { kind: 'waiting', entryId: id });
}

export class QueuePositions {
  readonly #snapshots = new Map<string, Snapshot>();
  readonly #reading = new Map<string, Promise<Snapshot>>();
  readonly #gpuCounts = new Map<
    string,
    { at: number; value: number[] | null; reading: Promise<number[]> | null }
  >();
  readonly #maxAgeMs: number;
  readonly #fullRefreshMs: number;
  readonly #cap: number;

  constructor(
    private readonly redis: Redis,
    private readonly now: () => number,
    options: QueuePositionsOptions = {},
  ) {
    this.#maxAgeMs = options.maxAgeMs ?? 500;
    this.#fullRefreshMs = options.fullRefreshMs ?? 10_000;
    this.#cap = options.capPerStream ?? 10_000;
  }

  /**
   * Waiting tasks ahead of the one whose stream entry is `entryId` in `stream`: those a tracker
   * takes before it (`compareWaiting`, the order take.lua follows).
   */
  async positionOf(keys: QueueKeys, entryId: string, stream: string): Promise<number> {
    const snapshot = await this.#snapshot(keys);
    const target: WaitingEntry = { kind: kindOf(snapshot.streams.get(stream)), entryId };
    let ahead = 0;
    for (const s of snapshot.streams.values()) ahead += countBefore(s.ids, kindOf(s), target);
    return ahead;
  }

  /**
   * Counts the tasks waiting in the queue now, O(1) per stream: the position of a task about to be
   * enqueued. `issued` says the count's commands are already sent, so nothing the caller sends
   * after it (the enqueue) can be counted; when it is false (the queue's streams are not known yet),
   * wait for `count` before enqueueing.
   */
  countWaiting(keys: QueueKeys): { count: Promise<number>; issued: boolean } {
    const cached = this.#gpuCounts.get(keys.queue);
    const sum = (streams: TaskStreamState[]): number =>
      streams.reduce((total, s) => total + Math.max(0, s.length - s.pending), 0);
    if (cached?.value && cached.value.length > 0) {
      if (this.now() - cached.at >= this.#maxAgeMs) void this.#readGpuCounts(keys).catch(() => undefined);
      // readTaskStreams sends its pipeline before it first awaits: the commands are on their way.
      return { count: readTaskStreams(this.redis, keys, cached.value).then(sum), issued: true };
    }
    return { count: this.#streams(keys).then(sum), issued: false };
  }

  /** The queue's task streams, reading the list of GPU counts unless a recent one is known. */
  async #streams(keys: QueueKeys): Promise<TaskStreamState[]> {
    const cached = this.#gpuCounts.get(keys.queue);
    // An empty list is never trusted: the queue's first stream may have been made just now.
    const fresh = cached?.value && cached.value.length > 0 && this.now() - cached.at < this.#maxAgeMs;
    const counts = fresh ? (cached.value as number[]) : await this.#readGpuCounts(keys);
    return readTaskStreams(this.redis, keys, counts);
  }

  /** Reads the GPU counts that have a task stream (one read in flight per queue). */
  #readGpuCounts(keys: QueueKeys): Promise<number[]> {
    let entry = this.#gpuCounts.get(keys.queue);
    if (entry?.reading) return entry.reading;
    entry ??= { at: 0, value: null, reading: null };
    this.#gpuCounts.set(keys.queue, entry);
    const target = entry;
    target.reading = readStreamGpuCounts(this.redis, keys)
      .then((counts) => {
        target.at = this.now();
        target.value = counts;
        return counts;
      })
      .finally(() => (target.reading = null));
    return target.reading;
  }

  #snapshot(keys: QueueKeys): Promise<Snapshot> {
    const cached = this.#snapshots.get(keys.queue);
    if (cached && this.now() - cached.at < this.#maxAgeMs) return Promise.resolve(cached);
    let reading = this.#reading.get(keys.queue);
    if (!reading) {
      reading = this.#refresh(keys, cached ?? null)
        .then((snapshot) => {
          this.#snapshots.set(keys.queue, snapshot);
          return snapshot;
        })
        .finally(() => this.#reading.delete(keys.queue));
      this.#reading.set(keys.queue, reading);
    }
    return reading;
  }

  async #refresh(keys: QueueKeys, previous: Snapshot | null): Promise<Snapshot> {
    const at = this.now();
    const full = previous === null || at - previous.fullAt >= this.#fullRefreshMs;
    const plans = (await this.#streams(keys)).map((state) => {
      const old = full ? undefined : previous.streams.get(state.key);
      const delivered = state.lastDeliveredId;
      // Entries up to the last delivered id were taken: drop them from the front.
      let taken = old ? countOlder(old.ids, delivered) : 0;
      if (old?.ids[taken] === delivered) taken++;
      const kept = old ? old.ids.slice(taken) : [];
      const from = old && compareEntryIds(old.lastSeen, delivered) > 0 ? old.lastSeen : delivered;
      return { key: state.key, requeued: state.requeued, kept, from, need: this.#cap - kept.length };
    });
    const reading = plans.filter((p) => p.need > 0);
    const pipeline = this.redis.pipeline();
    for (const p of reading) pipeline.xrange(p.key, `(${p.from}`, '+', 'COUNT', p.need);
    const replies = reading.length > 0 ? ((await pipeline.exec()) ?? []) : [];
    const streams = new Map<string, StreamIds>();
    for (const plan of plans) {
      const index = reading.indexOf(plan);
      let lastSeen = plan.from;
      if (index >= 0) {
        const [error, entries] = replies[index] ?? [null, []];
        if (error) throw error;
        for (const [id] of entriesReply(entries)) {
          plan.kept.push(id);
          lastSeen = id;
        }
      }
      streams.set(plan.key, { requeued: plan.requeued, ids: plan.kept, lastSeen });
    }
    return { at, fullAt: full ? at : (previous as Snapshot).fullAt, streams };
  }
}
