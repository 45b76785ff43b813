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
 */
import type { Redis } from 'ioredis';
import { compareEntryIds, loopUntilAborted, untilAborted, type Logger } from '@gpufleet/core';

export interface FeedEntry {
  id: string;
  /** Field/value pairs as Buffers (log data are bytes). */
  fields: Buffer[];
}

export type FeedListener = (entries: FeedEntry[]) => void;

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
  /** The subscription generation it joined in. */
  generation: number;
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
  /** Aborted by `close()`: ends the loop's waits (read, back-off) at once. */
  readonly #closing = new AbortController();

  constructor(private readonly deps: StreamFeedOptions) {
    this.#options = { blockMs: 200, count: 500, ...deps };
  }

  /** Entries of `key` after `cursor` go to `listener` until the returned function is called. */
  subscribe(key: string, cursor: string, listener: FeedListener): () => void {
    if (this.#closing.signal.aborted) throw new Error('the stream feed is closed');
    const sub: Subscription = { cursor, listener, generation: ++this.#generation };
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
      const keys = [...this.#subs.keys()];
      const cursors = keys.map((key) => oldestCursor(this.#subs.get(key)));
      this.#redis ??= this.deps.connect();
      const read = this.#redis.xreadBuffer(
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
      if (reply) this.#dispatch(reply, generation);
    };
    await loopUntilAborted(signal, step, {
      baseMs: 50,
      maxMs: 1000,
      onFailure: (error, failures) => {
        if (failures === 1 || failures % 60 === 0)
          this.deps.logger.warn({ err: error }, 'stream feed read failed');
      },
    });
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
