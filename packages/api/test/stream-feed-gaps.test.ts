// A follower of the shared stream feed never skips entries silently: one whose cursor the stream
// was trimmed past (before it joined, or while it was following and the feed fell behind) gets
// its resync signal before any later entry, and goes on from the stream's end or start as it
// asked; one whose cursor is still inside what the stream holds gets none. Real Redis, real trims.
import { afterAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { connectRedis, silentLogger } from '@gpufleet/core';
import { uniquePrefix, useRedis, waitFor } from '@gpufleet/testkit';
import { StreamFeed, type FeedEntry, type FeedGap } from '../src/follow/stream-feed.js';

const redis = useRedis();
const opened: Redis[] = [];
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers) await close();
  opened.forEach((c) => c.disconnect());
});

function newFeed(options: { count?: number; name?: string } = {}): StreamFeed {
  const connect = (): Redis => {
    const connection = connectRedis(redis.server.url, { blocking: true, connectionName: options.name });
    opened.push(connection);
    return connection;
  };
  const feed = new StreamFeed({
    connect,
    logger: silentLogger(),
    blockMs: 200,
    ...(options.count ? { count: options.count } : {}),
  });
  closers.push(() => feed.close());
  return feed;
}

/** What one subscriber saw, in order: entries by id, and `resync` where a gap was signalled. */
function follower(): {
  seen: string[];
  gaps: FeedGap[];
  listener: (e: FeedEntry[]) => void;
  onResync: (g: FeedGap) => void;
} {
  const seen: string[] = [];
  const gaps: FeedGap[] = [];
  return {
    seen,
    gaps,
    listener: (entries) => seen.push(...entries.map((e) => e.id)),
    onResync: (gap) => {
      gaps.push(gap);
      seen.push('resync');
    },
  };
}

async function tenEntries(client: Redis, key: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) ids.push((await client.xadd(key, '*', 'n', String(i))) as string);
  return ids;
}

describe('StreamFeed gaps', () => {
  it('signals a cursor the stream was trimmed past, then goes on from its end; a cursor inside gets none', async () => {
    const client = redis.server.client();
    const key = `${uniquePrefix()}:events`;
    const ids = await tenEntries(client, key);
    await client.xtrim(key, 'MINID', ids[6] as string); // ids[0..5] go; ids[3..5] were never read
    const feed = newFeed();
    const behind = follower();
    const inside = follower();
    feed.subscribe(key, ids[2] as string, behind.listener, { onResync: behind.onResync });
    feed.subscribe(key, ids[7] as string, inside.listener, { onResync: inside.onResync });
    await waitFor(() => behind.gaps.length === 1 && inside.seen.length === 2);
    expect(behind.gaps).toEqual([{ key, cursor: ids[2], resumeAfter: ids[9] }]);
    const fresh = (await client.xadd(key, '*', 'n', 'new')) as string;
    await waitFor(() => behind.seen.includes(fresh) && inside.seen.includes(fresh));
    expect(behind.seen).toEqual(['resync', fresh]);
    expect(inside.seen).toEqual([ids[8], ids[9], fresh]);
    expect(inside.gaps).toEqual([]);
  });

  it('goes on from the oldest entry held for a subscriber that asked to resume from the start', async () => {
    const client = redis.server.client();
    const key = `${uniquePrefix()}:log`;
    const ids = await tenEntries(client, key);
    await client.xtrim(key, 'MINID', ids[6] as string);
    const feed = newFeed();
    const log = follower();
    feed.subscribe(key, ids[2] as string, log.listener, { onResync: log.onResync, resume: 'start' });
    await waitFor(() => log.seen.length === 5);
    expect(log.gaps).toEqual([{ key, cursor: ids[2], resumeAfter: '0-0' }]);
    expect(log.seen).toEqual(['resync', ...ids.slice(6)]);
  });

  it('signals a stream that is gone after the cursor (a log expired once its task ended)', async () => {
    const client = redis.server.client();
    const key = `${uniquePrefix()}:log`;
    const ids = await tenEntries(client, key);
    await client.del(key);
    const feed = newFeed();
    const log = follower();
    feed.subscribe(key, ids[9] as string, log.listener, { onResync: log.onResync });
    await waitFor(() => log.gaps.length === 1);
    expect(log.gaps).toEqual([{ key, cursor: ids[9], resumeAfter: '0-0' }]);
  });

  // The feed reads 2 entries a round here: 5 added at once with the first 3 trimmed away in the
  // same step, and the following subscriber (caught up, its read blocked) would read the last 2
  // as if they came next. Without the trim, the same burst is read whole, with no resync.
  for (const trimmed of [true, false]) {
    it(`${trimmed ? 'signals' : 'does not signal'} a burst ${trimmed ? 'trimmed' : 'not trimmed'} before a following subscriber read it`, async () => {
      const client = redis.server.client();
      const key = `${uniquePrefix()}:events`;
      const ids = await tenEntries(client, key);
      const name = `feed-${uniquePrefix()}`;
      const feed = newFeed({ count: 2, name });
      const live = follower();
      feed.subscribe(key, ids[9] as string, live.listener, { onResync: live.onResync, resume: 'start' });
      await waitFor(async () => {
        const clients = (await client.client('LIST')) as string;
        return clients.split('\n').some((c) => c.includes(`name=${name}`) && /flags=b .*cmd=xread\b/.test(c));
      });
      const ms = Number((ids[9] as string).split('-')[0]) + 1;
      const burst = [1, 2, 3, 4, 5].map((seq) => `${ms}-${seq}`);
      const step = client.multi();
      for (const id of burst) step.xadd(key, id, 'n', id);
      if (trimmed) step.xtrim(key, 'MINID', burst[3] as string);
      await step.exec();
      await waitFor(() => live.seen.includes(burst[4] as string));
      if (trimmed) {
        expect(live.gaps).toEqual([{ key, cursor: ids[9], resumeAfter: '0-0' }]);
        expect(live.seen).toEqual(['resync', burst[3], burst[4]]);
      } else {
        expect(live.gaps).toEqual([]);
        expect(live.seen).toEqual(burst);
      }
    });
  }
});
