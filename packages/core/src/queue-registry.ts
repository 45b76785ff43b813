/**
 * The fleet's queue names. Every key of a queue lives under `<prefix>:{<queue>}`, so nothing lists
 * the queues by itself: writers add a queue's name to the set `<prefix>:queues` (the API does on
 * every enqueue, a tracker may at start), and `discoverQueues` also finds queues that only have a
 * tracker registry or a task index (SCAN, for fleets whose trackers do not register yet).
 */
import type { Redis } from 'ioredis';
import { checkName } from './keys.js';

/** The set of queue names of the fleet with key prefix `prefix`. */
export function queueRegistryKey(prefix: string): string {
  return `${prefix}:queues`;
}

export async function registerQueue(redis: Redis, prefix: string, queue: string): Promise<void> {
  await redis.sadd(queueRegistryKey(prefix), queue);
}

/** The registered queue names, sorted. */
export async function listRegisteredQueues(redis: Redis, prefix: string): Promise<string[]> {
  return (await redis.smembers(queueRegistryKey(prefix))).filter((q) => checkName(q) === null).sort();
}

/**
 * Registered queues plus those found by scanning for `<prefix>:{<queue>}:trackers` and
 * `<prefix>:{<queue>}:index` keys. The scan walks the whole key space: call it rarely and cache it.
 */
export async function discoverQueues(redis: Redis, prefix: string, scanCount = 1000): Promise<string[]> {
  const found = new Set(await listRegisteredQueues(redis, prefix));
  const pattern = /^(.*):\{([^}]+)\}:(trackers|index)$/;
  let cursor = '0';
  do {
    // The glob narrows the reply to names ending like `index` or `trackers`; the regex decides.
    const match = `${prefix}:{*}:[it][nr][da][ec][xk]*`;
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', scanCount);
    cursor = next;
    for (const key of keys) {
      const parts = pattern.exec(key);
      if (parts?.[1] === prefix && parts[2] !== undefined && checkName(parts[2]) === null)
        found.add(parts[2]);
    }
  } while (cursor !== '0');
  return [...found].sort();
}
