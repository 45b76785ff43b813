// The scheduling order has one definition (src/scheduling-order.ts); take.lua follows it through
// lib-order.lua, whose kind ranks are generated from WAITING_KINDS. Here: Lua's goesBefore (run
// in a real Redis) and compareWaiting agree on every pair of a set of entries that differ in
// kind, milliseconds and sequence (including ids whose parts differ in length). The API test
// packages/api/test/scheduling-order.test.ts checks take.lua and the queue positions end to end.
import { describe, expect, it } from 'vitest';
import { compareWaiting, luaLib, WAITING_KINDS, type WaitingEntry } from '@gpufleet/core';
import { useRedis } from '@gpufleet/testkit';

const redis = useRedis();

describe('the scheduling order', () => {
  it('answers the same in Lua and in TypeScript, for every pair of waiting entries', async () => {
    const ids = ['1-0', '1-1', '1-10', '2-0', '9-5', '10-0', '10-2', '1700000000000-3', '1700000000001-0'];
    const entries: WaitingEntry[] = WAITING_KINDS.flatMap((kind) =>
      ids.map((entryId) => ({ kind, entryId })),
    );
    const pairs = entries.flatMap((a) => entries.map((b) => [a, b] as const));
    const check = `${luaLib('lib-order')}
local out = {}
for i = 1, #ARGV, 4 do out[#out + 1] = goesBefore(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]) and 1 or 0 end
return out`;
    const args = pairs.flatMap(([a, b]) => [a.kind, a.entryId, b.kind, b.entryId]);
    const lua = (await redis.server.client().eval(check, 0, ...args)) as number[];
    const ts = pairs.map(([a, b]) => (compareWaiting(a, b) < 0 ? 1 : 0));
    expect(lua).toEqual(ts);
    // Not agreeing on nothing: a requeued entry goes before any waiting one, then by id.
    expect(
      compareWaiting({ kind: 'requeued', entryId: '9-0' }, { kind: 'waiting', entryId: '1-0' }),
    ).toBeLessThan(0);
    expect(
      compareWaiting({ kind: 'waiting', entryId: '9-5' }, { kind: 'waiting', entryId: '10-0' }),
    ).toBeLessThan(0);
  });
});
