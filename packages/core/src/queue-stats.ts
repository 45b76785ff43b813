/**
 * What a queue's task streams hold right now, read without changing anything. An entry is
 * *waiting* until the group delivers it and *pending* from delivery until its task ends (the
 * scripts XACK and XDEL it together), so per stream `waiting = XLEN - pending`. Costs a few O(1)
 * commands per task stream (one stream per GPU count in use).
 */
import type { Redis } from 'ioredis';
import { TRACKER_GROUP, type QueueKeys } from './keys.js';
import { xinfoGroups, type GroupInfo } from './redis-replies.js';
import { compareEntryIds, entryIdMs } from './stream-entries.js';

export interface TaskStreamState {
  key: string;
  gpus: number;
  /** A requeued stream: its entries go before every entry of the task streams. */
  requeued: boolean;
  /** Entries in the stream (waiting and pending). */
  length: number;
  /** Entries delivered to a tracker and not yet settled (their tasks run or upload). */
  pending: number;
  /** The group's last delivered id; entries after it wait ('0-0' when no group exists yet). */
  lastDeliveredId: string;
}

export interface QueueStats {
  queue: string;
  /** Entries no tracker has taken yet. */
  waiting: number;
  /** Entries taken and not yet settled (running or uploading tasks). */
  running: number;
  /** Entries in the dead-letter stream. */
  dead: number;
  /** When the oldest waiting entry was added (ms), or null when none waits. */
  oldestWaitingAt: number | null;
}

/** The GPU counts that have a task stream in the queue, ascending. */
export async function readStreamGpuCounts(redis: Redis, keys: QueueKeys): Promise<number[]> {
  return (await redis.smembers(keys.taskStreams))
    .map(Number)
    .filter((n) => Number.isSafeInteger(n) && n >= 0)
    .sort((a, b) => a - b);
}

/**
 * The state of each of the queue's streams, by GPU count: the requeued streams first, then the task
 * streams. `gpuCounts` (from `readStreamGpuCounts`, possibly cached by the caller) saves a round trip.
 */
export async function readTaskStreams(
  redis: Redis,
  keys: QueueKeys,
  gpuCounts?: readonly number[],
): Promise<TaskStreamState[]> {
  gpuCounts ??= await readStreamGpuCounts(redis, keys);
  // Separate commands, not a MULTI or pipeline object: on an auto-pipelining connection they share
  // one write with the other commands of the same tick. All are sent before the first await.
  const groupsOf = (key: string): Promise<GroupInfo[]> =>
    xinfoGroups(redis, key).catch((error: unknown) => {
      // No stream yet ("no such key") means nothing waits; any other error is real.
      if (error instanceof Error && /no such key/i.test(error.message)) return [];
      throw error;
    });
  const streams = [
    ...gpuCounts.map((gpus) => ({ key: keys.requeued(gpus), gpus, requeued: true })),
    ...gpuCounts.map((gpus) => ({ key: keys.tasks(gpus), gpus, requeued: false })),
  ];
  const reads = streams.map(({ key }) => Promise.all([redis.xlen(key), groupsOf(key)]));
  const replies = await Promise.all(reads);
  return streams.map((stream, i) => {
    const [length, groups] = replies[i] ?? [0, []];
    const group = groups.find((g) => g.name === TRACKER_GROUP);
    return {
      ...stream,
      length,
      pending: group?.pending ?? 0,
      lastDeliveredId: group?.lastDeliveredId ?? '0-0',
    };
  });
}

export async function readQueueStats(redis: Redis, keys: QueueKeys): Promise<QueueStats> {
  const [streams, dead] = await Promise.all([readTaskStreams(redis, keys), redis.xlen(keys.dead)]);
  let waiting = 0;
  let running = 0;
  const heads: Array<Promise<Array<[string, string[]]>>> = [];
  for (const s of streams) {
    const w = Math.max(0, s.length - s.pending);
    waiting += w;
    running += s.pending;
    if (w > 0) heads.push(redis.xrange(s.key, `(${s.lastDeliveredId}`, '+', 'COUNT', 1));
  }
  let oldest: string | null = null;
  for (const entries of await Promise.all(heads)) {
    const id = entries[0]?.[0];
    if (id !== undefined && (oldest === null || compareEntryIds(id, oldest) < 0)) oldest = id;
  }
  return {
    queue: keys.queue,
    waiting,
    running,
    dead,
    oldestWaitingAt: oldest === null ? null : entryIdMs(oldest),
  };
}
