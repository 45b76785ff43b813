/**
 * What a queue's task streams hold right now, read without changing anything. An entry is
 * *waiting* until take delivers it (XCLAIM FORCE) and *pending* from then until its task ends (the
 * scripts XACK and XDEL it together), so per stream `waiting = XLEN - pending`; the oldest waiting
 * task is the oldest head of the wait sets. Costs a few O(1)
 * commands per task stream (one stream per GPU count in use).
 */
import type { Redis } from 'ioredis';
import { TRACKER_GROUP, type QueueKeys } from './keys.js';
import { xinfoGroups, type GroupInfo } from './redis-replies.js';

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
  /** The waiting entries by GPU count (`'0'`: CPU tasks); counts with none waiting are left out. */
  waitingByGpus: Record<string, number>;
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

/** When the oldest task of the wait sets was queued (ms, from its entry order), or null when none waits. */
async function oldestWaiting(redis: Redis, keys: QueueKeys): Promise<number | null> {
  const names = await redis.zrange(keys.waitSets, 0, -1);
  const heads = await Promise.all(names.map((name) => redis.zrange(keys.waitSet(name), 0, 0)));
  let oldest: number | null = null;
  for (const [member] of heads) {
    // A member is `<ms, 15 digits>-<seq>:<task id>` (lua/lib-wait.lua waitOrder).
    const ms = member ? Number(member.slice(0, member.indexOf('-'))) : NaN;
    if (Number.isFinite(ms) && (oldest === null || ms < oldest)) oldest = ms;
  }
  return oldest;
}

export async function readQueueStats(redis: Redis, keys: QueueKeys): Promise<QueueStats> {
  const [streams, dead, oldestWaitingAt] = await Promise.all([
    readTaskStreams(redis, keys),
    redis.xlen(keys.dead),
    oldestWaiting(redis, keys),
  ]);
  let waiting = 0;
  let running = 0;
  const waitingByGpus: Record<string, number> = {};
  for (const s of streams) {
    const here = Math.max(0, s.length - s.pending);
    waiting += here;
    running += s.pending;
    if (here > 0) waitingByGpus[String(s.gpus)] = (waitingByGpus[String(s.gpus)] ?? 0) + here;
  }
  return { queue: keys.queue, waiting, running, dead, waitingByGpus, oldestWaitingAt };
}
