// The typed readings of raw Redis replies, against a real Redis: each names the fields the
// callers read, with the right types (numbers as numbers), in each form of its command.
import { describe, expect, it } from 'vitest';
import {
  claimReply,
  stringsReply,
  wordReply,
  xinfoGroups,
  xinfoStream,
  xpendingRange,
  xpendingSummary,
} from '@gpufleet/core';
import { uniquePrefix, useRedis } from '@gpufleet/testkit';

const redis = useRedis();

async function streamWithPending(): Promise<{ client: ReturnType<typeof redis.server.client>; key: string }> {
  const client = redis.server.client();
  const key = `${uniquePrefix()}:stream`;
  await client.xgroup('CREATE', key, 'g', '0', 'MKSTREAM');
  await client.xadd(key, '1-1', 'id', 'a');
  await client.xadd(key, '1-2', 'id', 'b');
  await client.xadd(key, '1-3', 'id', 'c');
  await client.xreadgroup('GROUP', 'g', 'alice', 'COUNT', 2, 'STREAMS', key, '>');
  await client.xreadgroup('GROUP', 'g', 'bob', 'COUNT', 1, 'STREAMS', key, '>');
  return { client, key };
}

describe('redis replies', () => {
  it('reads the XPENDING summary: count, id range and entries per consumer', async () => {
    const { client, key } = await streamWithPending();
    expect(await xpendingSummary(client, key, 'g')).toEqual({
      count: 3,
      firstId: '1-1',
      lastId: '1-3',
      consumers: new Map([
        ['alice', 2],
        ['bob', 1],
      ]),
    });
    await client.xack(key, 'g', '1-1', '1-2', '1-3');
    expect(await xpendingSummary(client, key, 'g')).toEqual({
      count: 0,
      firstId: null,
      lastId: null,
      consumers: new Map(),
    });
  });

  it('reads XPENDING ranges, by consumer and by idle time', async () => {
    const { client, key } = await streamWithPending();
    const all = await xpendingRange(client, key, 'g', { count: 10 });
    expect(all.map((p) => [p.entryId, p.consumer, p.deliveries])).toEqual([
      ['1-1', 'alice', 1],
      ['1-2', 'alice', 1],
      ['1-3', 'bob', 1],
    ]);
    expect(typeof all[0]?.idleMs).toBe('number');
    const bobs = await xpendingRange(client, key, 'g', { count: 10, consumer: 'bob' });
    expect(bobs.map((p) => p.entryId)).toEqual(['1-3']);
    expect(await xpendingRange(client, key, 'g', { count: 10, minIdleMs: 60_000 })).toEqual([]);
    expect(
      await xpendingRange(client, key, 'g', { count: 10, minIdleMs: 60_000, consumer: 'alice' }),
    ).toEqual([]);
    const idle = await xpendingRange(client, key, 'g', { count: 10, minIdleMs: 0, consumer: 'alice' });
    expect(idle.map((p) => p.entryId)).toEqual(['1-1', '1-2']);
    expect(await xpendingRange(client, key, 'g', { count: 10, start: '(1-1', end: '1-2' })).toMatchObject([
      { entryId: '1-2' },
    ]);
  });

  it('reads XINFO GROUPS and XINFO STREAM', async () => {
    const { client, key } = await streamWithPending();
    expect(await xinfoGroups(client, key)).toEqual([
      { name: 'g', consumers: 2, pending: 3, lastDeliveredId: '1-3' },
    ]);
    await client.xdel(key, '1-1');
    expect(await xinfoStream(client, key)).toEqual({ length: 2, entriesAdded: 3 });
    await expect(xinfoGroups(client, `${key}:missing`)).rejects.toThrow(/no such key/i);
  });

  it('checks the shape of script replies', () => {
    expect(stringsReply(['claimed', 'id', 2])).toEqual(['claimed', 'id', '2']);
    expect(() => stringsReply(1)).toThrow(TypeError);
    expect(wordReply('held', ['held', 'gone'] as const)).toBe('held');
    expect(() => wordReply('other', ['held', 'gone'] as const)).toThrow(TypeError);
  });

  it('reads the one reply of every claim script: kind, task, stream, entry, detail, suspect, hash', () => {
    const head = ['t1', 'gf:{q}:tasks:0', '5-0'];
    expect(claimReply(['claimed', ...head, '2', '1', 'status', 'running', 'attempt', '2'])).toEqual({
      kind: 'claimed',
      taskId: 't1',
      stream: 'gf:{q}:tasks:0',
      entryId: '5-0',
      attempt: 2,
      suspect: true,
      hash: { status: 'running', attempt: '2' },
    });
    expect(claimReply(['dead', ...head, 'attempts exhausted', ''])).toEqual({
      kind: 'dead',
      taskId: 't1',
      stream: 'gf:{q}:tasks:0',
      entryId: '5-0',
      reason: 'attempts exhausted',
    });
    for (const kind of ['gone', 'held'] as const) {
      expect(claimReply([kind, ...head, '', ''])).toEqual({
        kind,
        taskId: 't1',
        stream: 'gf:{q}:tasks:0',
        entryId: '5-0',
      });
    }
    expect(claimReply(['empty', '0-0'])).toBeNull();
    expect(claimReply(['wait', 'gf:{q}:tasks:2'])).toBeNull();
    expect(claimReply(['none'])).toBeNull();
  });
});
