/**
 * One blocking reader shared by every follower of one queue (its events stream and the log
 * streams of followed tasks). Why shared: a connection per follower would make Redis connections
 * grow with open SSE requests; one reader per queue keeps them at one per queue, and it is its own
 * connection, so a follower never holds up the fail-fast connection that requests use. All keys
 * of a queue share its hash tag, so one XREAD may read them all (also on Redis Cluster).
 *
 * Each subscription has its own cursor; the reader reads each stream from the oldest cursor on it
 * and hands every subscriber only the entries after its own. A subscription made while a read is
 * in flight is served from the next read (a short BLOCK keeps that wait small), so it never skips
 * entries between its cursor and the in-flight read's.
 *
 * Nor does a subscriber skip entries silently: its cursor is checked against what the stream
 * holds (core stream-gap.ts) before its first read, after the feed reconnected (a read resent then
 * is dropped, not dispatched) and before a read that filled its COUNT is dispatched (the feed is
 * behind; length caps are far above COUNT, so a trim past a reader shows so). When entries after
 * it were removed, its `onResync` comes before any later entry, and it goes on from the stream's
 * end, or from its start when it asked for that.
 */
import type { Redis } from 'ioredis';
import {
  compareEntryIds,
  entriesLostAfter,
  loopUntilAborted,
  untilAborted,
  xinfoStreamWindow,
  type Logger,
  type StreamWindow,
} from '@gpufleet/core';

export interface FeedEntry {
  id: string;
  /** Field/value pairs as Buffers (log data are bytes). */
  fields: Buffer[];
}

export type FeedListener = (entries: FeedEntry[]) => void;

/** Entries of a stream were removed after a subscription's cursor before it read them. */
export interface FeedGap {
  key: string;
  /** The cursor the lost entries came after. */
  cursor: string;
  /** Where the subscription goes on: the entries after this id come next. */
  resumeAfter: string;
}

export interface SubscribeOptions {
  /** Called, before any entry after it, when the subscription has lost entries (see `FeedGap`). */
  onResync?: (gap: FeedGap) => void;
  /** After a gap, go on after the stream's newest entry (`end`, default) or from its oldest (`start`). */
  resume?: 'end' | 'start';
}

export interface StreamFeedOptions {
  /** Opens the feed's blocking connection (it must wait through reconnects). */
  connect: () => Redis;
  logger: Logger;
  /** XREAD BLOCK time: also the longest a new subscription waits to join. */
  blockMs?: number;
  /** Entries read per stream per round. */
  count?: number;
}

interface Subscription {
  cursor: string;
  listener: FeedListener;
  options: SubscribeOptions;
  /** The subscription generation it joined in. */
  generation: number;
  /** Its cursor was checked against the stream since it joined (or since the feed reconnected). */
  checked: boolean;
  /** How many entries had been added to the stream up to its cursor, once known (stream-gap.ts). */
  position: number | null;
}

type XReadReply = Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;

/** What a wait in the loop gives when the feed closes first. */
const CLOSED = Symbol('closed');

export class StreamFeed {
  readonly #subs = new Map<string, Set<Subscription>>();
  readonly #options: Required<Omit<StreamFeedOptions, 'connect' | 'logger'>>;
  #generation = 0;
  #redis: Redis | null = null;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  /** How often the connection came back after a loss: a read sent before that is not dispatched. */
  #reconnects = 0;
  /** Aborted by `close()`: ends the loop's waits (read, back-off) at once. */
  readonly #closing = new AbortController();

  constructor(private readonly deps: StreamFeedOptions) {
    this.#options = { blockMs: 200, count: 500, ...deps };
  }

  /** Entries of `key` after `cursor` go to `listener` until the returned function is called. */
  subscribe(key: string, cursor: string, listener: FeedListener, options: SubscribeOptions = {}): () => void {
    if (this.#closing.signal.aborted) throw new Error('the stream feed is closed');
    const generation = ++this.#generation;
    const sub: Subscription = { cursor, listener, options, generation, checked: false, position: null };
    let set = this.#subs.get(key);
    if (!set) this.#subs.set(key, (set = new Set()));
    set.add(sub);
    this.#loop ??= this.#run();
    this.#wake?.();
    return () => {
      const current = this.#subs.get(key);
      current?.delete(sub);
      if (current?.size === 0) this.#subs.delete(key);
    };
  }

  /** Streams with at least one subscriber (for tests and metrics). */
  get keys(): string[] {
    return [...this.#subs.keys()];
  }

  /**
   * Ends the loop at once and drops the connection. The loop does not wait for the read in flight:
   * a blocking connection keeps its commands through an outage, and ioredis's `disconnect()` while
   * it waits to reconnect (or while Redis is hung) leaves them unsettled, so awaiting the read
   * would hold shutdown until Redis came back.
   */
  async close(): Promise<void> {
    this.#closing.abort();
    this.#wake?.();
    this.#redis?.disconnect();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { signal } = this.#closing;
    const step = async (): Promise<void | 'stop'> => {
      if (this.#subs.size === 0) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = null;
        return;
      }
      const generation = this.#generation;
      const reconnects = this.#reconnects;
      const redis = this.#connection();
      const unchecked = [...this.#subs].filter(([, subs]) => [...subs].some((s) => !s.checked));
      if (unchecked.length > 0) {
        const checked = await this.#check(
          redis,
          unchecked.map(([key]) => key),
          generation,
          false,
        );
        if (checked === CLOSED) return 'stop';
        if (this.#reconnects !== reconnects) return; // checked again on the next step
        if (this.#subs.size === 0) return;
      }
      const keys = [...this.#subs.keys()];
      const cursors = keys.map((key) => oldestCursor(this.#subs.get(key)));
      const read = redis.xreadBuffer(
        'COUNT',
        this.#options.count,
        'BLOCK',
        this.#options.blockMs,
        'STREAMS',
        ...keys,
        ...cursors,
      );
      const reply = await untilAborted(read, signal, CLOSED);
      if (reply === CLOSED) return 'stop';
      // Resent after a reconnect, its cursors were not checked since: read again once they are.
      if (!reply || this.#reconnects !== reconnects) return;
      // A full page: the feed is behind on that stream, which may have been trimmed past it.
      const behind = reply.filter(([, entries]) => entries.length >= this.#options.count);
      if (behind.length > 0) {
        const checked = await this.#check(
          redis,
          behind.map(([key]) => key.toString()),
          generation,
          true,
        );
        if (checked === CLOSED) return 'stop';
      }
      this.#dispatch(reply, generation);
    };
    await loopUntilAborted(signal, step, {
      baseMs: 50,
      maxMs: 1000,
      onFailure: (error, failures) => {
        this.#uncheckAll();
        if (failures === 1 || failures % 60 === 0)
          this.deps.logger.warn({ err: error }, 'stream feed read failed');
      },
    });
  }

  /** The feed's blocking connection, opened on first use; each time it comes back, cursors are checked again. */
  #connection(): Redis {
    if (this.#redis) return this.#redis;
    const redis = this.deps.connect();
    let connected = false;
    redis.on('ready', () => {
      if (connected) {
        this.#reconnects++;
        this.#uncheckAll();
      }
      connected = true;
    });
    return (this.#redis = redis);
  }

  #uncheckAll(): void {
    for (const subs of this.#subs.values()) for (const sub of subs) sub.checked = false;
  }

  /** Reads what `keys` hold now and checks their subscriptions (`all`: the checked ones too). */
  async #check(
    redis: Redis,
    keys: string[],
    generation: number,
    all: boolean,
  ): Promise<void | typeof CLOSED> {
    const windows = Promise.all(keys.map((key) => xinfoStreamWindow(redis, key)));
    const reply = await untilAborted(windows, this.#closing.signal, CLOSED);
    if (reply === CLOSED) return CLOSED;
    keys.forEach((key, i) => this.#checkGaps(key, reply[i] as StreamWindow, generation, all));
  }

  /** Checks the cursors of `key`'s subscriptions against what the stream holds (`window`). */
  #checkGaps(key: string, window: StreamWindow, generation: number, all: boolean): void {
    for (const sub of [...(this.#subs.get(key) ?? [])]) {
      if ((sub.checked && !all) || sub.generation > generation) continue;
      sub.checked = true;
      if (!entriesLostAfter(window, sub.cursor, sub.position)) {
        // A cursor at the newest id ever added has its exact position: every entry so far.
        if (sub.position === null && sub.cursor === window.lastGeneratedId)
          sub.position = window.entriesAdded;
        continue;
      }
      const fromStart = sub.options.resume === 'start';
      const gap = { key, cursor: sub.cursor, resumeAfter: fromStart ? '0-0' : window.lastGeneratedId };
      sub.cursor = gap.resumeAfter;
      sub.position = fromStart ? window.entriesAdded - window.length : window.entriesAdded;
      try {
        sub.options.onResync?.(gap);
      } catch (error) {
        this.deps.logger.error({ err: error }, 'stream feed resync listener failed');
      }
    }
  }

  #dispatch(reply: NonNullable<XReadReply>, generation: number): void {
    for (const [rawKey, rawEntries] of reply) {
      const subs = this.#subs.get(rawKey.toString());
      if (!subs || rawEntries.length === 0) continue;
      const entries = rawEntries.map(([id, fields]) => ({ id: id.toString(), fields }));
      for (const sub of [...subs]) {
        if (sub.generation > generation) continue;
        const first = entries.findIndex((e) => compareEntryIds(e.id, sub.cursor) > 0);
        if (first < 0) continue;
        const fresh = first === 0 ? entries : entries.slice(first);
        sub.cursor = (fresh.at(-1) as FeedEntry).id;
        if (sub.position !== null) sub.position += fresh.length;
        try {
          sub.listener(fresh);
        } catch (error) {
          this.deps.logger.error({ err: error }, 'stream feed listener failed');
        }
      }
    }
  }
}

function oldestCursor(subs: Set<Subscription> | undefined): string {
  let oldest: string | null = null;
  for (const sub of subs ?? [])
    if (oldest === null || compareEntryIds(sub.cursor, oldest) < 0) oldest = sub.cursor;
  return oldest ?? '$';
}

/** One feed per queue, created on first use, closed together. */
export class FeedHub {
  readonly #feeds = new Map<string, StreamFeed>();
  #closed = false;

  constructor(private readonly options: StreamFeedOptions) {}

  feed(queue: string): StreamFeed {
    if (this.#closed) throw new Error('the feed hub is closed');
    let feed = this.#feeds.get(queue);
    if (!feed) this.#feeds.set(queue, (feed = new StreamFeed(this.options)));
    return feed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#feeds.values()].map((f) => f.close()));
  }
}
