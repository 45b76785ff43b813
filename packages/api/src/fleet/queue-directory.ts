/**
 * Which queues exist. Task lookups use the registered queues (the set every enqueue adds to, plus
 * `default`), cached briefly and re-read at once when an id is not found. Fleet views use
 * `discovered()`, which also scans for queues that only have trackers (rarely: the scan walks the
 * key space), so a queue shows up before its first task.
 */
import type { Redis } from 'ioredis';
import { DEFAULT_QUEUE, discoverQueues, listRegisteredQueues, registerQueue } from '@gpufleet/core';

export interface QueueDirectoryOptions {
  /** How long the registered set is trusted. */
  registeredTtlMs?: number;
  /** How long a scan's result is trusted. */
  discoveredTtlMs?: number;
  /** The least time between two forced re-reads (lookups of unknown ids). */
  minRefreshMs?: number;
}

interface Cached {
  at: number;
  queues: string[];
}

export class QueueDirectory {
  #registered: Cached | null = null;
  #discovered: Cached | null = null;
  #reading: Promise<string[]> | null = null;
  #scanning: Promise<string[]> | null = null;
  #defaultRegistered = false;
  readonly #options: Required<QueueDirectoryOptions>;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number,
    options: QueueDirectoryOptions = {},
  ) {
    this.#options = { registeredTtlMs: 5000, discoveredTtlMs: 30_000, minRefreshMs: 1000, ...options };
  }

  /** Registered queues and `default`, sorted. */
  async registered(): Promise<string[]> {
    const cached = this.#registered;
    if (cached && this.now() - cached.at < this.#options.registeredTtlMs) return cached.queues;
    return this.#read();
  }

  /** Re-reads the registered set unless it was read within `minRefreshMs`; the queues it added. */
  async refresh(): Promise<string[]> {
    const before = new Set(this.#registered?.queues ?? []);
    const cached = this.#registered;
    if (cached && this.now() - cached.at < this.#options.minRefreshMs) return [];
    return (await this.#read()).filter((q) => !before.has(q));
  }

  /** Registered queues plus those found by scanning (trackers, task indexes). */
  async discovered(): Promise<string[]> {
    const registered = await this.registered();
    const cached = this.#discovered;
    let scanned: string[];
    if (cached && this.now() - cached.at < this.#options.discoveredTtlMs) scanned = cached.queues;
    else {
      this.#scanning ??= discoverQueues(this.redis, this.prefix)
        .then((found) => {
          this.#discovered = { at: this.now(), queues: found };
          return found;
        })
        .finally(() => (this.#scanning = null));
      scanned = await this.#scanning;
    }
    return [...new Set([...registered, ...scanned])].sort();
  }

  /** Adds a queue to the registered set, once per cache period. */
  async register(queue: string): Promise<void> {
    const known = await this.registered();
    // `default` is always listed whether or not the set holds it; register it all the same.
    if (known.includes(queue) && (queue !== DEFAULT_QUEUE || this.#defaultRegistered)) return;
    await registerQueue(this.redis, this.prefix, queue);
    if (queue === DEFAULT_QUEUE) this.#defaultRegistered = true;
    const cached = this.#registered;
    if (cached && !cached.queues.includes(queue)) cached.queues = [...cached.queues, queue].sort();
  }

  #read(): Promise<string[]> {
    this.#reading ??= listRegisteredQueues(this.redis, this.prefix)
      .then((found) => {
        const queues = [...new Set([DEFAULT_QUEUE, ...found])].sort();
        this.#registered = { at: this.now(), queues };
        return queues;
      })
      .finally(() => (this.#reading = null));
    return this.#reading;
  }
}
