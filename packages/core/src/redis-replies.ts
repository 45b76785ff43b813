/**
 * Raw Redis replies, typed once. ioredis gives several stream commands (XPENDING, XINFO,
 * XREADGROUP), pipeline results and script replies as `unknown`; each shape is cast here, in one
 * place, and parsed into named fields, so no other module casts a Redis reply.
 *
 * @example
 * const { consumers } = await xpendingSummary(redis, keys.tasks(0), TRACKER_GROUP);
 * for (const p of await xpendingRange(redis, keys.tasks(0), TRACKER_GROUP, { count: 100, minIdleMs: 3000 }))
 *   console.log(p.entryId, p.consumer, p.idleMs);
 */
import type { Redis } from 'ioredis';

/** A stream entry: its id and its flat field, value list. */
export type StreamEntry = [id: string, fields: string[]];

/** The reply of XREAD / XREADGROUP: each stream's entries; null when a blocking read timed out. */
export type StreamReadReply = Array<[stream: string, entries: StreamEntry[]]> | null;

/** XPENDING's summary form. */
export interface PendingSummary {
  /** Entries delivered and not yet acknowledged. */
  count: number;
  /** The smallest and the largest pending entry id (null when none is pending). */
  firstId: string | null;
  lastId: string | null;
  /** Consumer name → how many entries are pending for it (only consumers that hold some). */
  consumers: Map<string, number>;
}

/** One item of XPENDING's extended form. */
export interface PendingEntry {
  entryId: string;
  /** The consumer the entry is pending for. */
  consumer: string;
  /** Time since the entry was last delivered (or its idle time reset by XCLAIM). */
  idleMs: number;
  deliveries: number;
}

/** Which pending entries an `xpendingRange` lists. */
export interface PendingRange {
  /** Only entries idle at least this long. */
  minIdleMs?: number;
  /** Entry id bounds, inclusive (a `(` before an id excludes it); default `-` and `+`. */
  start?: string;
  end?: string;
  count: number;
  /** Only entries pending for this consumer. */
  consumer?: string;
}

/** One consumer group of XINFO GROUPS. */
export interface GroupInfo {
  name: string;
  consumers: number;
  pending: number;
  lastDeliveredId: string;
}

/** The fields of XINFO STREAM gpufleet reads. */
export interface StreamInfo {
  length: number;
  /** All entries ever added (Redis 7+; null when the server does not say). */
  entriesAdded: number | null;
}

/** `[name1, value1, name2, value2, ...]` as a map. */
function pairs(reply: unknown): Map<string, unknown> {
  const list = reply as unknown[];
  const map = new Map<string, unknown>();
  for (let i = 0; i + 1 < list.length; i += 2) map.set(String(list[i]), list[i + 1]);
  return map;
}

/** XPENDING key group, parsed. */
export async function xpendingSummary(redis: Redis, key: string, group: string): Promise<PendingSummary> {
  const [count, firstId, lastId, consumers] = (await redis.xpending(key, group)) as [
    number,
    string | null,
    string | null,
    Array<[name: string, pending: string]> | null,
  ];
  return {
    count: Number(count),
    firstId,
    lastId,
    consumers: new Map((consumers ?? []).map(([name, n]) => [name, Number(n)])),
  };
}

/** XPENDING key group [IDLE ms] start end count [consumer], parsed. */
export async function xpendingRange(
  redis: Redis,
  key: string,
  group: string,
  range: PendingRange,
): Promise<PendingEntry[]> {
  const { minIdleMs, consumer, count } = range;
  const start = range.start ?? '-';
  const end = range.end ?? '+';
  const reply =
    minIdleMs === undefined
      ? consumer === undefined
        ? redis.xpending(key, group, start, end, count)
        : redis.xpending(key, group, start, end, count, consumer)
      : consumer === undefined
        ? redis.xpending(key, group, 'IDLE', minIdleMs, start, end, count)
        : redis.xpending(key, group, 'IDLE', minIdleMs, start, end, count, consumer);
  const items = (await reply) as Array<
    [entryId: string, consumer: string, idleMs: number, deliveries: number]
  >;
  return items.map(([entryId, holder, idleMs, deliveries]) => ({
    entryId,
    consumer: holder,
    idleMs: Number(idleMs),
    deliveries: Number(deliveries),
  }));
}

/** XINFO GROUPS key, parsed. Fails as Redis does ("no such key") when the stream is missing. */
export async function xinfoGroups(redis: Redis, key: string): Promise<GroupInfo[]> {
  const groups = (await redis.xinfo('GROUPS', key)) as unknown[];
  return groups.map((group) => {
    const f = pairs(group);
    return {
      name: String(f.get('name')),
      consumers: Number(f.get('consumers') ?? 0),
      pending: Number(f.get('pending') ?? 0),
      lastDeliveredId: String(f.get('last-delivered-id')),
    };
  });
}

/** XINFO STREAM key, parsed. Fails as Redis does ("no such key") when the stream is missing. */
export async function xinfoStream(redis: Redis, key: string): Promise<StreamInfo> {
  const f = pairs(await redis.xinfo('STREAM', key));
  const added = f.get('entries-added');
  return { length: Number(f.get('length') ?? 0), entriesAdded: added === undefined ? null : Number(added) };
}

/**
 * What a stream holds now, as XINFO STREAM says (Redis 7.0+), for telling whether entries after a
 * reader's cursor were removed before it read them (stream-gap.ts).
 */
export interface StreamWindow {
  /** False when the key does not exist (never written, expired or removed): then all is 0 or '0-0'. */
  exists: boolean;
  length: number;
  /** All entries ever added (Redis 6 does not say: taken as `length`, nothing removed). */
  entriesAdded: number;
  /** The oldest entry it holds; null when it is empty. */
  firstId: string | null;
  /** The newest id ever added; it stays when that entry is removed. */
  lastGeneratedId: string;
  /** The largest id XDEL removed ('0-0': none). Redis 7.0 leaves it alone when trimming. */
  maxDeletedId: string;
}

const MISSING_STREAM: StreamWindow = {
  exists: false,
  length: 0,
  entriesAdded: 0,
  firstId: null,
  lastGeneratedId: '0-0',
  maxDeletedId: '0-0',
};

/** XINFO STREAM key as a `StreamWindow`; a missing key is a window that does not exist. */
export async function xinfoStreamWindow(redis: Redis, key: string): Promise<StreamWindow> {
  let reply: unknown;
  try {
    reply = await redis.xinfo('STREAM', key);
  } catch (error) {
    if (error instanceof Error && /no such key/i.test(error.message)) return MISSING_STREAM;
    throw error;
  }
  const f = pairs(reply);
  const length = Number(f.get('length') ?? 0);
  const added = f.get('entries-added');
  const first = f.get('first-entry') as [id: unknown, fields: unknown] | null | undefined;
  return {
    exists: true,
    length,
    entriesAdded: added === undefined ? length : Number(added),
    firstId: first ? String(first[0]) : null,
    lastGeneratedId: String(f.get('last-generated-id') ?? '0-0'),
    maxDeletedId: String(f.get('max-deleted-entry-id') ?? '0-0'),
  };
}

/** The reply of an XREADGROUP (ioredis leaves it `unknown[]`), typed as an XREAD reply. */
export function streamReadReply(reply: unknown): StreamReadReply {
  return reply as StreamReadReply;
}

/** A pipeline's HGETALL result. */
export function hashReply(reply: unknown): Record<string, string> {
  return reply as Record<string, string>;
}

/** A pipeline's HMGET result. */
export function valuesReply(reply: unknown): Array<string | null> {
  return reply as Array<string | null>;
}

/** A pipeline's XRANGE result. */
export function entriesReply(reply: unknown): StreamEntry[] {
  return reply as StreamEntry[];
}

/** A script's reply that is a list of strings (Lua numbers in it become strings). */
export function stringsReply(reply: unknown): string[] {
  if (!Array.isArray(reply)) throw new TypeError(`expected a list reply, got ${JSON.stringify(reply)}`);
  return reply.map((value) => String(value));
}

/** A script's reply that is one of `words`. */
export function wordReply<T extends string>(reply: unknown, words: readonly T[]): T {
  const word = words.find((w) => w === reply);
  if (word === undefined)
    throw new TypeError(`expected one of ${words.join(', ')}, got ${JSON.stringify(reply)}`);
  return word;
}

/** What take did with the entry of the task it claimed: see `claimReply`. */
export type ClaimReply =
  | {
      kind: 'claimed';
      taskId: string;
      stream: string;
      entryId: string;
      attempt: number;
      /** The task should run alone (it was present at two tracker deaths, or alone at one). */
      suspect: boolean;
      /** The task hash as the claim left it. */
      hash: Record<string, string>;
    }
  | { kind: 'dead'; taskId: string; stream: string; entryId: string; reason: string }
  | { kind: 'gone' | 'held'; taskId: string; stream: string; entryId: string };

const CLAIM_KINDS = ['claimed', 'dead', 'gone', 'held'] as const;

/**
 * The one reply shape of every way of claiming a task (lua/lib-claim.lua `claimReply`):
 * {kind, taskId, streamKey, entryId, detail, suspect, field1, value1, ...}, detail being the
 * attempt ('claimed') or the reason ('dead'). Null for a reply that is not a claim's (take's
 * 'empty' and 'wait').
 */
export function claimReply(reply: readonly string[]): ClaimReply | null {
  const [kind = '', taskId = '', stream = '', entryId = '', detail = '', suspect = ''] = reply;
  const known = CLAIM_KINDS.find((k) => k === kind);
  if (known === undefined) return null;
  if (known === 'dead') return { kind: known, taskId, stream, entryId, reason: detail };
  if (known !== 'claimed') return { kind: known, taskId, stream, entryId };
  const hash: Record<string, string> = {};
  for (let i = 6; i + 1 < reply.length; i += 2) hash[reply[i] ?? ''] = reply[i + 1] ?? '';
  return { kind: known, taskId, stream, entryId, attempt: Number(detail), suspect: suspect === '1', hash };
}
