// One classifier of Redis errors for every process, checked on errors a real ioredis connection
// raises: Redis gone (refused, closed, timed out) is "unavailable" (retry, 503); a script error or a
// wrong type is not. And the one backoff: doubling from the base, capped.
import { describe, expect, it } from 'vitest';
import { backoffMs, connectRedis, isRedisUnavailable, waitReady } from '@gpufleet/core';
import { useRedis } from '@gpufleet/testkit';

const redis = useRedis();

async function errorOf(op: () => Promise<unknown>): Promise<unknown> {
  return op().then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

describe('isRedisUnavailable', () => {
  it('says yes for a Redis that is gone or stalled, no for real errors', async () => {
    const client = connectRedis(redis.server.url, { commandTimeoutMs: 200 });
    await waitReady(client);
    await client.set('a-string', 'x');
    expect(isRedisUnavailable(await errorOf(() => client.lpush('a-string', 'y')))).toBe(false); // WRONGTYPE
    expect(isRedisUnavailable(await errorOf(() => client.eval('return redis.call("nope")', 0)))).toBe(false);
    expect(isRedisUnavailable(await errorOf(() => client.blpop('nothing', 1)))).toBe(true); // command timed out
    client.disconnect();
    expect(isRedisUnavailable(await errorOf(() => client.get('a-string')))).toBe(true); // not writeable
    const nowhere = connectRedis('redis://127.0.0.1:1', { commandTimeoutMs: 200 });
    const refused = await new Promise<unknown>((resolve) => nowhere.once('error', resolve));
    nowhere.disconnect();
    expect(isRedisUnavailable(refused)).toBe(true); // ECONNREFUSED
    expect(isRedisUnavailable('a string')).toBe(false);
  });
});

describe('backoffMs', () => {
  it('doubles from the base on each failure and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, 50, 1000))).toEqual([50, 100, 200, 400, 800, 1000]);
    expect(backoffMs(0, 50, 1000)).toBe(50);
    expect(backoffMs(10_000, 50, 1000)).toBe(1000);
  });
});
