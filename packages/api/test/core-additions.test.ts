// The small modules this package added to core: entry id order, event and log entry parsing, and
// queue discovery (registered names plus queues found by their trackers or task index).
import { describe, expect, it } from 'vitest';
import {
  compareEntryIds,
  discoverQueues,
  entryIdMs,
  isEntryId,
  parseLogChunk,
  parseTaskEvent,
  registerQueue,
} from '@gpufleet/core';
import { uniquePrefix, useRedis } from '@gpufleet/testkit';

const redis = useRedis();

describe('stream entries', () => {
  it('orders entry ids numerically, as Redis does', () => {
    expect(compareEntryIds('9-0', '10-0')).toBeLessThan(0);
    expect(compareEntryIds('10-2', '10-10')).toBeLessThan(0);
    expect(compareEntryIds('10-10', '10-10')).toBe(0);
    expect(compareEntryIds('1700000000001-0', '1700000000000-5')).toBeGreaterThan(0);
    expect(entryIdMs('1700000000001-3')).toBe(1700000000001);
    expect(isEntryId('1-0')).toBe(true);
    expect(isEntryId('1')).toBe(false);
    expect(isEntryId('$')).toBe(false);
  });

  it('reads events and log chunks, refusing strangers', () => {
    expect(
      parseTaskEvent('5-0', [
        'id',
        't1',
        'status',
        'running',
        'attempt',
        '2',
        'at',
        '99',
        'tracker',
        'n1',
        'reason',
        '',
      ]),
    ).toEqual({
      entryId: '5-0',
      taskId: 't1',
      status: 'running',
      attempt: 2,
      at: 99,
      tracker: 'n1',
      reason: null,
    });
    expect(parseTaskEvent('5-0', ['id', 't1', 'status', 'sleeping'])).toBeNull();
    const chunk = parseLogChunk('6-0', [
      Buffer.from('s'),
      Buffer.from('stderr'),
      Buffer.from('d'),
      Buffer.from([0xe2, 0x82]),
    ]);
    expect(chunk?.stream).toBe('stderr');
    expect(chunk?.data).toEqual(Buffer.from([0xe2, 0x82]));
    expect(parseLogChunk('6-0', ['s', 'stdin', 'd', 'x'])).toBeNull();
  });
});

describe('discoverQueues', () => {
  it('finds registered queues and queues that only have trackers or a task index', async () => {
    const client = redis.server.client();
    const prefix = uniquePrefix();
    await registerQueue(client, prefix, 'registered');
    await client.hset(`${prefix}:{gpu-big}:trackers`, 'n1', '{}');
    await client.zadd(`${prefix}:{old}:index`, 1, 'x');
    await client.set(`${prefix}:{noise}:tracker:n1`, '1');
    await client.hset(`${prefix}x:{other-fleet}:trackers`, 'n1', '{}');
    expect(await discoverQueues(client, prefix, 10)).toEqual(['gpu-big', 'old', 'registered']);
  });
});
