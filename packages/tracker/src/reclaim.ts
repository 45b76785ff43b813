/**
 * Reclaim: a tracker with free slots takes entries that have been idle longer than the lease in
 * any consumer's pending list (their tracker crashed, hung or was cut off) with XAUTOCLAIM, never
 * more than it has slots for, and claims their tasks. The claim refuses a task whose holder's lease
 * is still alive, and dead-letters one whose attempts are used up.
 */
import type { Redis } from 'ioredis';
import {
  claimDelivered,
  newToken,
  TRACKER_GROUP,
  type Claim,
  type Logger,
  type QueueKeys,
} from '@gpufleet/core';
import type { SlotPool } from './slot-pool.js';

export interface ReclaimDeps {
  redis: Redis;
  keys: QueueKeys;
  pool: SlotPool;
  consumer: string;
  leaseMs: number;
  streams: ReadonlyArray<{ key: string; gpus: number }>;
  logger: Logger;
  now: () => number;
  launch: (claim: Claim, gpus: number) => void | Promise<void>;
  /** True for tasks this tracker runs now: their idle entries are its own, never reclaimed. */
  isRunningHere: (taskId: string) => boolean;
}

const MAX_SCANS = 5;

function howManyFit(pool: SlotPool, gpus: number): number {
  return gpus === 0 ? pool.freeCpuCount : Math.floor(pool.freeGpuCount / gpus);
}

/** Returns the number of tasks reclaimed and started. */
export async function reclaimIdle(deps: ReclaimDeps): Promise<number> {
  let started = 0;
  for (const { key, gpus } of deps.streams) {
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
        const result = await claimDelivered(deps.redis, deps.keys, {
          consumer: deps.consumer,
          stream: key,
          entryId,
          taskId,
          leaseMs: deps.leaseMs,
          token: newToken(),
          now: deps.now(),
        });
        if (result.kind === 'claimed') {
          deps.logger.warn(
            { taskId, attempt: result.claim.attempt },
            'reclaimed a task whose tracker stopped renewing it',
          );
          await deps.launch(result.claim, gpus);
          started++;
        } else if (result.kind === 'dead') {
          deps.logger.warn({ taskId, reason: result.reason }, 'reclaimed task dead-lettered');
        }
      }
      if (next === '0-0') break;
      cursor = next;
    }
  }
  return started;
}
