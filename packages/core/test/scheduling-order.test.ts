// The scheduling order has one definition (src/scheduling-order.ts); take.lua follows it through
// lib-order.lua, whose kind ranks are generated from WAITING_KINDS. Here: Lua's goesBefore (run
// in a real Redis, on wait-set members made by lib-wait.lua's waitOrder) and compareWaiting agree
// on every pair of a set of entries that differ in priority, kind, tenant (with its fair-share
// rank), milliseconds and sequence (including ids whose parts differ in length). The API test
// packages/api/test/scheduling-order.test.ts checks take.lua and the queue positions end to end.
import { describe, expect, it } from 'vitest';
import { compareWaiting, luaLib, WAITING_KINDS, type WaitingEntry } from '@gpufleet/core';
import { useRedis } from '@gpufleet/testkit';

const redis = useRedis();

describe('the scheduling order', () => {
  it('answers the same in Lua and in TypeScript, for every pair of waiting entries', async () => {
    const ids = ['1-0', '1-10', '9-5', '10-0', '1700000000000-3', '1700000000001-0'];
    const tenants = [
      ['alice', 0],
      ['bob', 2.5],
      ['carol', 2.5],
    ] as const;
    const entries: WaitingEntry[] = [500, 900].flatMap((priority) =>
      WAITING_KINDS.flatMap((kind) =>
        tenants.flatMap(([tenant, fairShareRank]) =>
          ids.map((entryId) => ({ kind, entryId, priority, tenant, fairShareRank })),
        ),
      ),
    );
    const pairs = entries.flatMap((a) => entries.map((b) => [a, b] as const));
    const check = `${luaLib('lib-common')}
${luaLib('lib-order')}
local rank = { alice = 0, bob = 2.5, carol = 2.5 }
local function entry(i)
  return { priority = tonumber(ARGV[i]), kind = ARGV[i + 1], tenant = ARGV[i + 2], rank = rank[ARGV[i + 2]],
    member = waitOrder(ARGV[i + 3]) .. ':x' }
end
local out = {}
for i = 1, #ARGV, 8 do out[#out + 1] = goesBefore(entry(i), entry(i + 4)) and 1 or 0 end
return out`;
    const args = pairs.flatMap(([a, b]) =>
      [a, b].flatMap((e) => [String(e.priority), e.kind, e.tenant, e.entryId]),
    );
    const lua = (await redis.server.client().eval(check, 0, ...args)) as number[];
    const ts = pairs.map(([a, b]) => (compareWaiting(a, b) < 0 ? 1 : 0));
    expect(lua).toEqual(ts);
    // Not agreeing on nothing: priority first, then requeued, then fair share, then age.
    const base = {
      kind: 'waiting',
      entryId: '1-0',
      priority: 500,
      tenant: 'alice',
      fairShareRank: 0,
    } as const;
    expect(compareWaiting({ ...base, priority: 900, entryId: '9-0' }, base)).toBeLessThan(0);
    expect(compareWaiting({ ...base, kind: 'requeued', entryId: '9-0' }, base)).toBeLessThan(0);
    expect(compareWaiting(base, { ...base, tenant: 'bob', fairShareRank: 1, entryId: '0-1' })).toBeLessThan(
      0,
    );
    expect(compareWaiting({ ...base, entryId: '9-5' }, { ...base, entryId: '10-0' })).toBeLessThan(0);
  });
});
