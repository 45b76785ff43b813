/**
 * Reclaim: a tracker with free slots takes over the running tasks of trackers that are gone, never
 * more than it has slots for, and claims them (a fresh lease token fences the old attempt out; a
 * task whose attempts are used up is dead-lettered). Two ways to find them:
 * - dead trackers, at once: a consumer that holds pending entries but whose liveness key
 *   (`tracker:<name>`, refreshed every aliveMs / 3 with TTL aliveMs) has expired. The claim
 *   checks, in the same Lua step, that the key is still missing, so a tracker that comes back
 *   keeps its tasks, and one that comes back later loses them through fencing;
 * - lapsed leases, as a backstop: entries idle longer than the lease in any consumer's pending list
 *   (XAUTOCLAIM). The claim refuses a task whose holder's lease is still alive.
 */
import type { Redis } from 'ioredis';
import {
  claimDelivered,
  newToken,
  TRACKER_GROUP,
  type DeadHolder,
  type Logger,
  type Claim,
  type QueueKeys,
} from '@gpufleet/core';
import type { SlotPool } from './slot-pool.js';

export interface ReclaimDeps {
  redis: Redis;
  keys: QueueKeys;
  pool: SlotPool;
  consumer: string;
  leaseMs: number;
  /** The liveness TTL: a tracker whose key is missing is dead once its entries are idle this long. */
  aliveMs: number;
  streams: ReadonlyArray<{ key: string; gpus: number }>;
  logger: Logger;
  now: () => number;
  launch: (claim: Claim, gpus: number) => void | Promise<void>;
  /** True for tasks this tracker runs now: their idle entries are its own, never reclaimed. */
  isRunningHere: (taskId: string) => boolean;
}

type Stream = { key: string; gpus: number };

const MAX_SCANS = 5;

function howManyFit(pool: SlotPool, gpus: number): number {
  return gpus === 0 ? pool.freeCpuCount : Math.floor(pool.freeGpuCount / gpus);
}

/** Returns the number of tasks reclaimed and started. */
export async function reclaimIdle(deps: ReclaimDeps): Promise<number> {
  let started = 0;
  for (const stream of deps.streams) {
    started += await reclaimFromDead(deps, stream);
    started += await reclaimLapsed(deps, stream);
  }
  return started;
}

/** Claims one entry and starts its task; 1 when started. */
async function claimAndLaunch(
  deps: ReclaimDeps,
  { key, gpus }: Stream,
  entryId: string,
  taskId: string,
  deadHolder?: DeadHolder,
): Promise<number> {
  const result = await claimDelivered(deps.redis, deps.keys, {
    consumer: deps.consumer,
    stream: key,
    entryId,
    taskId,
    leaseMs: deps.leaseMs,
    token: newToken(),
    now: deps.now(),
    deadHolder,
  });
  const via = deadHolder ? 'liveness' : 'lease';
  if (result.kind === 'claimed') {
    deps.logger.warn(
      { taskId, attempt: result.claim.attempt, via, from: deadHolder?.consumer },
      'reclaimed a task whose tracker stopped renewing it',
    );
    await deps.launch(result.claim, gpus);
    return 1;
  }
  if (result.kind === 'dead')
    deps.logger.warn({ taskId, reason: result.reason, via }, 'reclaimed task dead-lettered');
  return 0;
}

/** The consumers other than this one that hold pending entries of the stream and whose liveness key is gone. */
async function deadHolders(deps: ReclaimDeps, key: string): Promise<string[]> {
  const [count, , , consumers] = (await deps.redis.xpending(key, TRACKER_GROUP)) as [
    number,
    string | null,
    string | null,
    Array<[string, string]> | null,
  ];
  if (!count || !consumers) return [];
  const holders = consumers.map(([name]) => name).filter((name) => name !== deps.consumer);
  if (holders.length === 0) return [];
  const alive = await deps.redis.mget(holders.map((name) => deps.keys.trackerAlive(name)));
  return holders.filter((_, i) => alive[i] === null);
}

/**
 * Whether Redis itself has been up for a lease: a Redis restarted from its AOF has every
 * liveness key expired while the trackers are still reconnecting (they wait a lease after their
 * reconnect; this covers a tracker that started after the restart and saw no reconnect).
 */
async function redisUpForALease(deps: ReclaimDeps): Promise<boolean> {
  const info = await deps.redis.info('server').catch(() => '');
  const seconds = /uptime_in_seconds:(\d+)/.exec(info)?.[1];
  return seconds === undefined || Number(seconds) * 1000 >= deps.leaseMs;
}

async function reclaimFromDead(deps: ReclaimDeps, stream: Stream): Promise<number> {
  const { key, gpus } = stream;
  if (howManyFit(deps.pool, gpus) === 0) return 0;
  const dead = await deadHolders(deps, key);
  if (dead.length === 0 || !(await redisUpForALease(deps))) return 0;
  let started = 0;
  for (const consumer of dead) {
    const room = howManyFit(deps.pool, gpus);
    if (room === 0) break;
    const pending = (await deps.redis.xpending(
      key,
      TRACKER_GROUP,
      'IDLE',
      deps.aliveMs,
      '-',
      '+',
      room,
      consumer,
    )) as Array<[string, string, number, number]>;
    for (const [entryId] of pending) {
      if (!deps.pool.fitsNow(gpus)) break;
      const [entry] = await deps.redis.xrange(key, entryId, entryId);
      const taskId = entry?.[1][1];
      // An entry whose stream entry is gone is left for XAUTOCLAIM, which drops it from the list.
      if (!taskId || deps.isRunningHere(taskId)) continue;
      started += await claimAndLaunch(deps, stream, entryId, taskId, { consumer, minIdleMs: deps.aliveMs });
    }
  }
  return started;
}

async function reclaimLapsed(deps: ReclaimDeps, stream: Stream): Promise<number> {
  const { key, gpus } = stream;
  let started = 0;
  let cursor = '0-0';
  for (let scan = 0; scan < MAX_SCANS; scan++) {
    const room = howManyFit(deps.pool, gpus);
    if (room === 0) break;
    const [next, entries] = (await deps.redis.xautoclaim(
      key,
      TRACKER_GROUP,
      deps.consumer,
      deps.leaseMs,
      cursor,
      'COUNT',
      room,
    )) as [string, Array<[string, string[] | null]>];
    for (const [entryId, fields] of entries) {
      if (!fields || !deps.pool.fitsNow(gpus)) continue;
      const taskId = fields[1] ?? '';
      if (deps.isRunningHere(taskId)) continue;
      started += await claimAndLaunch(deps, stream, entryId, taskId);
    }
    if (next === '0-0') break;
    cursor = next;
  }
  return started;
}
