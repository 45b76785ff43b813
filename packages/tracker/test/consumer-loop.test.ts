// The consumer loop in-process against a real Redis: when its slots are all taken between the take
// and the blocking read, it sends no read at all (an XREADGROUP with no stream is Redis's
// `ERR syntax error`), and it takes a requeued task before the older waiting ones.
import { describe, expect, it } from 'vitest';
import {
  connectRedis,
  loadScripts,
  createLogger,
  enqueue,
  OutageReporter,
  publishCatalog,
  queueKeys,
  requeueOrphan,
  TRACKER_GROUP,
  waitReady,
  type Claim,
  type QueueKeys,
} from '@gpufleet/core';
import type { Redis } from 'ioredis';
import { uniquePrefix, useRedis, waitFor } from '@gpufleet/testkit';
import { ConsumerLoop } from '../src/consumer-loop.js';
import { SlotPool } from '../src/slot-pool.js';

const redis = useRedis();

/** Redis's count of replies of each error prefix (INFO errorstats), e.g. { ERR: 2 }. */
async function errorCounts(client: ReturnType<typeof redis.server.client>): Promise<Record<string, number>> {
  const info = await client.info('errorstats');
  return Object.fromEntries(
    [...info.matchAll(/errorstat_(\w+):count=(\d+)/g)].map((m) => [m[1], Number(m[2])]),
  );
}

interface TestLoop {
  loop: ConsumerLoop;
  pool: SlotPool;
  command: Redis;
  blocking: Redis;
  /** Stops the loop and drops its connections. */
  close(): Promise<void>;
}

/** A loop of consumer `a` with one CPU slot, its groups made, not started. */
async function testLoop(
  keys: QueueKeys,
  launch: (claim: Claim) => void = () => undefined,
): Promise<TestLoop> {
  const pool = new SlotPool([], 1);
  const logger = createLogger({ level: 'silent' });
  const command = connectRedis(redis.server.url);
  const blocking = connectRedis(redis.server.url, { blocking: true });
  const loop = new ConsumerLoop({
    redis: command,
    blocking,
    keys,
    pool,
    consumer: 'a',
    leaseMs: 10_000,
    blockMs: 200,
    logger,
    outage: new OutageReporter(logger),
    now: Date.now,
    emit: () => undefined,
    launch,
  });
  await waitReady(command);
  await loadScripts(command); // as a tracker does at start
  await loop.ensureGroups();
  return {
    loop,
    pool,
    command,
    blocking,
    async close() {
      await loop.stop();
      command.disconnect();
      blocking.disconnect();
    },
  };
}

describe('consumer loop', () => {
  it('sends no read when its slots were taken while the take was on its way', async () => {
    const client = redis.server.client();
    const keys = queueKeys(uniquePrefix(), 'default');
    const { loop, pool, command, blocking, close } = await testLoop(keys);
    let reads = 0;
    const xread = blocking.xread.bind(blocking) as (...args: unknown[]) => Promise<unknown>;
    (blocking as unknown as { xread: (...args: unknown[]) => Promise<unknown> }).xread = (...args) => {
      reads++;
      return xread(...args);
    };
    // Another launcher takes the one slot while the (empty) take is on its way to Redis.
    const fcall = command.fcall.bind(command) as (...args: unknown[]) => Promise<unknown>;
    let takes = 0;
    (command as unknown as { fcall: (...args: unknown[]) => Promise<unknown> }).fcall = (...args) => {
      takes++;
      pool.allocate(0);
      return fcall(...args);
    };
    const before = await errorCounts(client);
    void loop.start();
    await waitFor(() => takes === 1 || null);
    // What is checked is an absence: give a wrong read (and its error) half a second to show up.
    const errored = await waitFor(
      async () => ((await errorCounts(client)).ERR ?? 0) > (before.ERR ?? 0) || null,
      {
        timeoutMs: 500,
      },
    ).catch(() => false);
    await close();
    expect(errored).toBe(false);
    expect(takes).toBe(1);
    expect(reads).toBe(0); // it waits for a slot, not for the queue
  });

  it('takes a task handed back to the queue before the older ones still waiting', async () => {
    const prefix = uniquePrefix();
    const client = redis.server.client();
    const keys = queueKeys(prefix, 'default');
    await publishCatalog(client, keys, [
      {
        name: 'noop',
        version: '1',
        description: '',
        params: {},
        gpus: 0,
        timeLimitMs: 1000,
        tracker: 'a',
        updatedAt: 0,
      },
    ]);
    const launched: Claim[] = [];
    let firstLaunch: () => void = () => undefined;
    const launchedOnce = new Promise<void>((resolve) => (firstLaunch = resolve));
    const { loop, pool, close } = await testLoop(keys, (claim) => {
      launched.push(claim);
      pool.allocate(0);
      firstLaunch();
    });
    const older = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    await enqueue({ redis: client, prefix }, { executer: 'noop' });
    const handedBack = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    // As an entry delivered and never claimed goes back first in line: to the requeued stream.
    const entry = (await client.hget(keys.task(handedBack.id), 'entry')) as string;
    await client.xclaim(keys.tasks(0), TRACKER_GROUP, 'gone', 0, entry, 'FORCE', 'JUSTID');
    const returned = await requeueOrphan(client, keys, {
      stream: keys.tasks(0),
      entryId: entry,
      taskId: handedBack.id,
      holder: 'gone',
      minIdleMs: 0,
      holderDead: false,
      alone: false,
      reason: '',
      now: Date.now(),
    });
    expect(returned).toBe('returned');
    void loop.start();
    await launchedOnce;
    await close();
    expect(launched.map((c) => c.taskId)).toEqual([handedBack.id]);
    expect(launched[0]?.stream).toBe(keys.requeued(0));
    expect(older.id).not.toBe(handedBack.id);
  });
});
