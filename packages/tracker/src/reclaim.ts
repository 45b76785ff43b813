/**
 * Reclaim: every tracker's sweep, busy or not, puts the running tasks of trackers that are gone back
 * in line, before every waiting task (into the requeued streams). It claims nothing itself: the
 * consumer loops take them as slots free, so under a backlog the first free slot of the queue goes
 * to them, and no tracker takes more than it can start. Two ways to find them:
 * - dead trackers, at once: a consumer that holds pending entries but whose liveness key
 *   (`tracker:<name>`, refreshed every aliveMs / 3 with TTL aliveMs) has expired. The requeue
 *   checks, in the same Lua step, that the key is still missing, so a tracker that comes back
 *   keeps its tasks, and one that comes back later loses them through fencing;
 * - lapsed leases, as a backstop: entries idle longer than the lease in any consumer's pending list.
 *   The requeue refuses a task whose holder's lease is still alive.
 * Each task put back is the `requeued-orphan` tracker event.
 */
import type { Redis } from 'ioredis';
import {
  RECONNECT_MAX_MS,
  requeueOrphan,
  TRACKER_GROUP,
  xpendingRange,
  xpendingSummary,
  type Logger,
  type PendingEntry,
  type QueueKeys,
} from '@gpufleet/core';
import { eventField, type EmitTrackerEvent } from './tracker-events.js';

export interface ReclaimDeps {
  redis: Redis;
  keys: QueueKeys;
  consumer: string;
  leaseMs: number;
  /** The liveness TTL: a tracker whose key is missing is dead once its entries are idle this long. */
  aliveMs: number;
  streams: ReadonlyArray<{ key: string }>;
  logger: Logger;
  now: () => number;
  /** True for tasks this tracker runs now: their idle entries are its own, never reclaimed. */
  isRunningHere: (taskId: string) => boolean;
  /** Announces each task put back in line (`requeued-orphan`). */
  emit: EmitTrackerEvent;
}

/** Entries looked at per stream and consumer in one sweep. */
const BATCH = 100;

/** Pending entries per consumer, per stream (XPENDING's summary form). */
async function pendingByConsumer(deps: ReclaimDeps): Promise<Array<Map<string, number>>> {
  return Promise.all(
    deps.streams.map(async ({ key }) => {
      const { count, consumers } = await xpendingSummary(deps.redis, key, TRACKER_GROUP).catch(
        (error: unknown) => {
          if (String(error).includes('NOGROUP')) return { count: 0, consumers: new Map<string, number>() };
          throw error;
        },
      );
      return count ? consumers : new Map<string, number>();
    }),
  );
}

/**
 * Whether Redis itself has been up long enough for every live tracker to have refreshed its
 * liveness key: a Redis restarted from its AOF has every liveness key expired while the trackers
 * are still reconnecting. Each reconnects within RECONNECT_MAX_MS (twice, for a connect that
 * failed once more) and refreshes its key within a third of the TTL. Trackers that saw the
 * restart wait a lease after their own reconnect; this covers one that started after it.
 */
async function redisUpLongEnough(deps: ReclaimDeps): Promise<boolean> {
  const info = await deps.redis.info('server').catch(() => '');
  const seconds = /uptime_in_seconds:(\d+)/.exec(info)?.[1];
  return seconds === undefined || Number(seconds) * 1000 >= deps.aliveMs + 2 * RECONNECT_MAX_MS;
}

async function taskOf(deps: ReclaimDeps, stream: string, entryId: string): Promise<string | null> {
  const [entry] = await deps.redis.xrange(stream, entryId, entryId);
  return entry?.[1][1] ?? null;
}

/** Requeues what one entry's task needs; returns 1 when a running task was put back in line. */
async function requeueEntry(
  deps: ReclaimDeps,
  stream: string,
  { entryId, consumer: holder }: PendingEntry,
  how: { dead: boolean; alone: boolean; minIdleMs: number },
): Promise<number> {
  const taskId = await taskOf(deps, stream, entryId);
  if (!taskId) {
    // Its stream entry is gone (trimmed by hand): nothing can run it, so only the pending item goes.
    await deps.redis.xack(stream, TRACKER_GROUP, entryId);
    return 0;
  }
  if (holder === deps.consumer && deps.isRunningHere(taskId)) return 0;
  const reason = how.dead
    ? `tracker "${holder}" stopped while running it (its liveness key expired)`
    : `tracker "${holder}" stopped renewing its lease`;
  const result = await requeueOrphan(deps.redis, deps.keys, {
    stream,
    entryId,
    taskId,
    holder,
    minIdleMs: how.minIdleMs,
    holderDead: how.dead,
    alone: how.alone,
    reason,
    now: deps.now(),
  });
  if (result !== 'requeued') return 0;
  const requeued = { taskId, from: holder, via: how.dead ? ('liveness' as const) : ('lease' as const) };
  deps.logger.warn(
    { ...requeued, ...eventField('requeued-orphan') },
    'requeued a task whose tracker stopped running it',
  );
  deps.emit('requeued-orphan', { ...requeued, stream });
  return 1;
}

/** Returns the number of running tasks put back in line. */
export async function reclaimIdle(deps: ReclaimDeps): Promise<number> {
  const pending = await pendingByConsumer(deps);
  const holders = new Map<string, number>();
  for (const byConsumer of pending)
    for (const [name, n] of byConsumer)
      if (name !== deps.consumer) holders.set(name, (holders.get(name) ?? 0) + n);
  let requeued = 0;
  const names = [...holders.keys()];
  const alive =
    names.length > 0 ? await deps.redis.mget(names.map((name) => deps.keys.trackerAlive(name))) : [];
  const dead = names.filter((_, i) => alive[i] === null);
  if (dead.length > 0 && (await redisUpLongEnough(deps))) {
    for (const holder of dead) {
      // One death is no evidence against a task, unless it was the only one its tracker ran.
      const alone = holders.get(holder) === 1;
      for (const [i, { key }] of deps.streams.entries()) {
        if (!pending[i]?.has(holder)) continue;
        const entries = await xpendingRange(deps.redis, key, TRACKER_GROUP, {
          minIdleMs: deps.aliveMs,
          count: BATCH,
          consumer: holder,
        });
        for (const entry of entries)
          requeued += await requeueEntry(deps, key, entry, { dead: true, alone, minIdleMs: deps.aliveMs });
      }
    }
  }
  for (const [i, { key }] of deps.streams.entries()) {
    if ((pending[i]?.size ?? 0) === 0) continue;
    const entries = await xpendingRange(deps.redis, key, TRACKER_GROUP, {
      minIdleMs: deps.leaseMs,
      count: BATCH,
    });
    for (const entry of entries) {
      if (dead.includes(entry.consumer)) continue;
      requeued += await requeueEntry(deps, key, entry, {
        dead: false,
        alone: false,
        minIdleMs: deps.leaseMs,
      });
    }
  }
  return requeued;
}
