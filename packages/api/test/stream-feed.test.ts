// The shared follower reader: one blocking connection per queue serves every subscription, each
// subscriber gets exactly the entries after its own cursor, in order, and one that joins while a
// read is in flight (with an older cursor) misses nothing.
import { afterAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { connectRedis, silentLogger } from '@gpufleet/core';
import { uniquePrefix, useRedis, waitFor } from '@gpufleet/testkit';
import { FeedHub, StreamFeed, type FeedEntry } from '../src/follow/stream-feed.js';

const redis = useRedis();
const opened: Redis[] = [];
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers) await close();
  opened.forEach((c) => c.disconnect());
});

function connect(): Redis {
  const connection = connectRedis(redis.server.url, { blocking: true });
  opened.push(connection);
  return connection;
}

function newFeed(blockMs = 200): StreamFeed {
  const feed = new StreamFeed({ connect, logger: silentLogger(), blockMs });
  closers.push(() => feed.close());
  return feed;
}

function collector(): { ids: string[]; listener: (entries: FeedEntry[]) => void } {
  const ids: string[] = [];
  return { ids, listener: (entries) => ids.push(...entries.map((e) => e.id)) };
}

describe('StreamFeed', () => {
  it('gives each subscriber the entries after its own cursor, in order', async () => {
    const client = redis.server.client();
    const key = `${uniquePrefix()}:s`;
    const first = (await client.xadd(key, '*', 'n', '1')) as string;
    const second = (await client.xadd(key, '*', 'n', '2')) as string;
    const feed = newFeed();
    const all = collector();
    const late = collector();
    feed.subscribe(key, '0-0', all.listener);
    feed.subscribe(key, first, late.listener);
    const third = (await client.xadd(key, '*', 'n', '3')) as string;
    await waitFor(() => all.ids.length === 3 && late.ids.length === 2);
    expect(all.ids).toEqual([first, second, third]);
    expect(late.ids).toEqual([second, third]);
  });

  it('serves a subscriber that joins during a blocked read from its own, older cursor', async () => {
    const client = redis.server.client();
    const key = `${uniquePrefix()}:s`;
    const history = [];
    for (let i = 0; i < 5; i++) history.push((await client.xadd(key, '*', 'n', String(i))) as string);
    const feed = newFeed(2000); // a long block: the join happens while the read waits
    const current = collector();
    feed.subscribe(key, history.at(-1) as string, current.listener);
    await new Promise((resolve) => setImmediate(resolve));
    const joiner = collector();
    feed.subscribe(key, '0-0', joiner.listener);
    const fresh = (await client.xadd(key, '*', 'n', 'new')) as string;
    await waitFor(() => joiner.ids.length >= 6, { timeoutMs: 5000 });
    expect(joiner.ids).toEqual([...history, fresh]);
    expect(current.ids).toEqual([fresh]);
  });

  it('stops delivering after unsubscribe and reads several streams over one connection', async () => {
    const client = redis.server.client();
    const [a, b] = [`${uniquePrefix()}:a`, `${uniquePrefix()}:b`];
    const before = opened.length;
    const feed = newFeed();
    const fromA = collector();
    const fromB = collector();
    const stopA = feed.subscribe(a, '0-0', fromA.listener);
    feed.subscribe(b, '0-0', fromB.listener);
    await client.xadd(a, '*', 'n', '1');
    await client.xadd(b, '*', 'n', '1');
    await waitFor(() => fromA.ids.length === 1 && fromB.ids.length === 1);
    stopA();
    expect(feed.keys).toEqual([b]);
    await client.xadd(a, '*', 'n', '2');
    const lastB = (await client.xadd(b, '*', 'n', '2')) as string;
    await waitFor(() => fromB.ids.includes(lastB));
    expect(fromA.ids).toHaveLength(1);
    expect(opened.length - before).toBe(1);
  });
});

describe('FeedHub', () => {
  it('keeps one feed (one blocking connection) per queue', async () => {
    const hub = new FeedHub({ connect, logger: silentLogger() });
    closers.push(() => hub.close());
    expect(hub.feed('q1')).toBe(hub.feed('q1'));
    expect(hub.feed('q2')).not.toBe(hub.feed('q1'));
  });
});
