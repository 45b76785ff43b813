/**
 * Finds a task by id for a tenant. A task lives under its queue's keys and its id does not name
 * the queue, so the record is looked up in every registered queue in one pipeline (usually one
 * or two queues); a remembered id → queue map makes repeat lookups a single HGETALL. An id found in
 * none of them is looked for once more in queues registered or discovered since. A task of another
 * tenant is reported exactly like a missing one.
 */
import type { Redis } from 'ioredis';
import { hashReply, parseTaskRecord, queueKeys, type QueueKeys, type TaskRecord } from '@gpufleet/core';
import type { QueueDirectory } from '../fleet/queue-directory.js';
import { TASK_ID } from '../schemas/common.js';

export interface FoundTask {
  record: TaskRecord;
  /** The raw hash: fields TaskRecord leaves out (stream, entry, executerVersion). */
  raw: Record<string, string>;
  keys: QueueKeys;
  /**
   * When the retention sweep moved it to the archive (ms), or null for a task read from Redis. An
   * archived task is final and has no Redis keys left: routes answer it from the record alone.
   */
  archivedAt: number | null;
  /** When the outputs retention deleted an archived task's outputs (ms); absent while they are kept. */
  outputsDeletedAt?: number | null;
}

const REMEMBERED_IDS = 50_000;

export class TaskFinder {
  readonly #queueOf = new Map<string, string>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly queues: QueueDirectory,
  ) {}

  /** The task, or null when it does not exist or belongs to another tenant (`tenant` null: any). */
  async find(id: string, tenant: string | null): Promise<FoundTask | null> {
    const theirs = (found: FoundTask): boolean => tenant === null || found.record.tenant === tenant;
    if (!TASK_ID.test(id)) return null;
    const remembered = this.#queueOf.get(id);
    if (remembered !== undefined) {
      const found = await this.#read(id, [remembered]);
      if (found) return theirs(found) ? found : null;
      this.#queueOf.delete(id);
    }
    const registered = await this.queues.registered();
    let found = await this.#read(id, registered);
    if (!found) {
      // Registered since the cache was filled, or enqueued without registering (core's enqueue
      // called directly): the scan finds those by their task index (at most once per 30 s).
      const added = await this.queues.refresh();
      const discovered = (await this.queues.discovered()).filter((q) => !registered.includes(q));
      const untried = [...new Set([...added, ...discovered])];
      if (untried.length > 0) found = await this.#read(id, untried);
    }
    if (!found) return null;
    this.remember(id, found.keys.queue);
    return theirs(found) ? found : null;
  }

  /** Remembers where a task lives (the API calls this when it creates one). */
  remember(id: string, queue: string): void {
    if (this.#queueOf.size >= REMEMBERED_IDS) {
      const oldest = this.#queueOf.keys().next().value;
      if (oldest !== undefined) this.#queueOf.delete(oldest);
    }
    this.#queueOf.set(id, queue);
  }

  /** Reads the record again (after a change), from the queue it was found in. */
  async reload(found: FoundTask): Promise<FoundTask | null> {
    return this.#read(found.record.id, [found.keys.queue]);
  }

  async #read(id: string, queues: readonly string[]): Promise<FoundTask | null> {
    if (queues.length === 0) return null;
    const keys = queues.map((q) => queueKeys(this.prefix, q));
    if (keys.length === 1) {
      const only = keys[0] as QueueKeys;
      return this.#parse(await this.redis.hgetall(only.task(id)), only);
    }
    const pipeline = this.redis.pipeline();
    for (const k of keys) pipeline.hgetall(k.task(id));
    const replies = (await pipeline.exec()) ?? [];
    for (const [i, [error, raw]] of replies.entries()) {
      if (error) throw error;
      const found = this.#parse(hashReply(raw), keys[i] as QueueKeys);
      if (found) return found;
    }
    return null;
  }

  #parse(raw: Record<string, string>, keys: QueueKeys): FoundTask | null {
    const record = parseTaskRecord(raw);
    return record ? { record, raw, keys, archivedAt: null } : null;
  }
}
