/**
 * How much of Redis a queue holds, as the fleet sees it (for /metrics): the task records held
 * (the index: waiting, running and finished within their retention), the tasks archived so far,
 * and the bytes a task costs, measured with MEMORY USAGE on a sample of records (each with its
 * lease and live log stream), plus the queue's shared streams and sets. Costs about 3 commands
 * per sampled task; the API reads it at most once a second.
 */
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';

/** Task records measured per read. */
export const MEMORY_SAMPLE = 20;

export interface QueueMemory {
  /** Task records in Redis (the index's size). */
  records: number;
  /** Tasks archived and removed from Redis since the queue began (the retention sweep's count). */
  archived: number;
  /** Mean bytes of a sampled record with its lease and log stream; null with no record. */
  bytesPerTask: number | null;
  /** The queue's shared keys: events and dead-letter streams, the index (bytes). */
  sharedBytes: number;
}

async function usage(redis: Redis, key: string): Promise<number> {
  return Number((await redis.memory('USAGE', key)) ?? 0);
}

export async function readQueueMemory(redis: Redis, keys: QueueKeys): Promise<QueueMemory> {
  const [records, archived, sample] = await Promise.all([
    redis.zcard(keys.index),
    redis.hget(keys.retentionStats, 'archived'),
    redis.zrandmember(keys.index, MEMORY_SAMPLE) as Promise<string[]>,
  ]);
  const perTask = await Promise.all(
    sample.map(async (id) => {
      const sizes = await Promise.all(
        [keys.task(id), keys.lease(id), keys.log(id)].map((k) => usage(redis, k)),
      );
      return sizes.reduce((a, b) => a + b, 0);
    }),
  );
  const shared = await Promise.all([keys.events, keys.dead, keys.index].map((k) => usage(redis, k)));
  return {
    records,
    archived: Number(archived ?? 0),
    bytesPerTask:
      perTask.length === 0 ? null : Math.round(perTask.reduce((a, b) => a + b, 0) / perTask.length),
    sharedBytes: shared.reduce((a, b) => a + b, 0),
  };
}
