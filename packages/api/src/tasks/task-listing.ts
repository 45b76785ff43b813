/**
 * Lists a tenant's tasks (or every tenant's) newest first across queues, with cursor paging. Each
 * queue's `index` sorted set holds task ids by creation time; the queues are merged by (createdAt,
 * id), newest first, so a cursor `(createdAt, id)` marks one place in the merged order and each
 * queue resumes strictly after it. The index holds every tenant's tasks: every tenant's listing is
 * the merged index as it is, one tenant's the same read filtered. Filters (tenant, status,
 * executer, name and tags) need the records, read in pipelined batches, except a creation-time
 * range, which bounds the index reads themselves; one page examines at most
 * `scanBudget` tasks and then hands back a cursor even when it found fewer than `limit`, so no
 * request walks an unbounded index.
 */
import type { Redis } from 'ioredis';
import { hashReply, parseTaskRecord, queueKeys, type QueueKeys, type TaskStatus } from '@gpufleet/core';
import { ApiError } from '../errors.js';
import { matchesLabels, type LabelFilter } from './label-filter.js';
import type { FoundTask } from './task-finder.js';

export interface ListQuery {
  /** Whose tasks; null: every tenant's. */
  tenant: string | null;
  queues: readonly string[];
  statuses: ReadonlySet<TaskStatus> | null;
  executer: string | null;
  /** Name and tags (label-filter.ts); null or absent: any. */
  labels?: LabelFilter | null;
  /** Only tasks created from (and to) this time, ms; null or absent: no bound. */
  createdFrom?: number | null;
  createdTo?: number | null;
  limit: number;
  cursor: string | null;
  /** Tasks examined per page at most. */
  scanBudget?: number;
}

interface Place {
  score: number;
  id: string;
}

/** Newer first: by score, then by id (as Redis orders equal scores). */
function newer(a: Place, b: Place): boolean {
  return a.score > b.score || (a.score === b.score && a.id > b.id);
}

export function encodeCursor(place: Place): string {
  return Buffer.from(JSON.stringify([place.score, place.id])).toString('base64url');
}

export function decodeCursor(cursor: string): Place {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(value) &&
      Number.isSafeInteger(value[0]) &&
      typeof value[1] === 'string' &&
      value[1].length <= 64
    ) {
      return { score: value[0] as number, id: value[1] };
    }
  } catch {
    // falls through to the error below
  }
  throw new ApiError('INVALID_CURSOR', 'the cursor is not one this API handed out');
}

/** Reads one queue's index newest first, strictly after a place, in batches. */
class IndexReader {
  #buffer: Place[] = [];
  #exhausted = false;

  constructor(
    private readonly redis: Redis,
    readonly keys: QueueKeys,
    private after: Place | null,
    private readonly batch: number,
    private readonly range: { from: number | null; to: number | null } = { from: null, to: null },
  ) {}

  async peek(): Promise<Place | null> {
    if (this.#buffer.length === 0 && !this.#exhausted) await this.#fill();
    return this.#buffer[0] ?? null;
  }

  take(): Place | undefined {
    const place = this.#buffer.shift();
    if (place) this.after = place;
    return place;
  }

  async #fill(): Promise<void> {
    const { from, to } = this.range;
    const top = Math.min(this.after?.score ?? Infinity, to ?? Infinity);
    const max = top === Infinity ? '+inf' : String(top);
    const min = from === null ? '-inf' : String(from);
    for (let offset = 0; ;) {
      const raw = await this.redis.zrange(
        this.keys.index,
        max,
        min,
        'BYSCORE',
        'REV',
        'LIMIT',
        offset,
        this.batch,
        'WITHSCORES',
      );
      const places: Place[] = [];
      for (let i = 0; i + 1 < raw.length; i += 2)
        places.push({ id: raw[i] as string, score: Number(raw[i + 1]) });
      const after = this.after;
      // Places at or before the cursor come first (same score, id not smaller): drop them.
      const fresh = after === null ? places : places.filter((p) => newer(after, p));
      const end = places.length < this.batch;
      if (fresh.length > 0 || end) {
        this.#buffer = fresh;
        this.#exhausted = end;
        return;
      }
      offset += places.length; // a whole batch of equal scores at or before the cursor
    }
  }
}

export async function listTasks(
  redis: Redis,
  prefix: string,
  query: ListQuery,
): Promise<{ items: FoundTask[]; nextCursor: string | null }> {
  const after = query.cursor === null ? null : decodeCursor(query.cursor);
  const budget = query.scanBudget ?? Math.max(200, query.limit * 10);
  const batch = Math.min(500, Math.max(query.limit * 2, 50));
  const range = { from: query.createdFrom ?? null, to: query.createdTo ?? null };
  const readers = query.queues.map((q) => new IndexReader(redis, queueKeys(prefix, q), after, batch, range));
  const items: FoundTask[] = [];
  let examined = 0;
  let last: Place | null = null;
  let unexamined = false;
  while (items.length < query.limit && examined < budget) {
    const candidates: Array<{ place: Place; keys: QueueKeys }> = [];
    while (candidates.length < batch && examined + candidates.length < budget) {
      let best: IndexReader | null = null;
      let bestPlace: Place | null = null;
      for (const reader of readers) {
        const head = await reader.peek();
        if (head && (bestPlace === null || newer(head, bestPlace))) [best, bestPlace] = [reader, head];
      }
      if (!best || !bestPlace) break;
      best.take();
      candidates.push({ place: bestPlace, keys: best.keys });
    }
    if (candidates.length === 0) return { items, nextCursor: null };
    const pipeline = redis.pipeline();
    for (const c of candidates) pipeline.hgetall(c.keys.task(c.place.id));
    const replies = (await pipeline.exec()) ?? [];
    for (const [i, candidate] of candidates.entries()) {
      if (items.length === query.limit) {
        unexamined = true;
        break;
      }
      examined++;
      last = candidate.place;
      const [error, raw] = replies[i] ?? [null, {}];
      if (error) throw error;
      const hash = hashReply(raw);
      const record = parseTaskRecord(hash);
      if (!record || (query.tenant !== null && record.tenant !== query.tenant)) continue;
      if (query.statuses && !query.statuses.has(record.status)) continue;
      if (query.executer !== null && record.executer !== query.executer) continue;
      if (query.labels && !matchesLabels(record, query.labels)) continue;
      items.push({ record, raw: hash, keys: candidate.keys, archivedAt: null });
    }
  }
  if (last === null) return { items, nextCursor: null };
  const more = unexamined || (await Promise.all(readers.map((r) => r.peek()))).some((p) => p !== null);
  return { items, nextCursor: more ? encodeCursor(last) : null };
}
