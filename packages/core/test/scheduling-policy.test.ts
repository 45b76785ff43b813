// The scheduling policy of take.lua against a real Redis: priority first, a requeued task first
// within its priority, fair share between tenants (rank from usage and running GPUs over weight),
// and the running-GPU quota, decided atomically in the take (concurrent takes never overcommit it).
// Also changing a waiting task's priority, and the fair-share usage that every status write keeps.
import { describe, expect, it } from 'vitest';
import {
  completeTask,
  DEFAULT_HALF_LIFE_MS,
  DEFAULT_PRIORITY,
  enqueue,
  fairShareRank,
  getTask,
  HALF_LIFE_FIELD,
  indexWaiting,
  luaLib,
  readFairShare,
  releaseTask,
  setTaskPriority,
  takeTask,
  TRACKER_GROUP,
  usageAt,
  ValidationError,
  type Claim,
  type SchedulingSettings,
  type TakeResult,
} from '@gpufleet/core';
import { useRedis } from '@gpufleet/testkit';
import { noopQueue } from './helpers/noop-queue.js';

const redis = useRedis();

async function policyQueue() {
  const queue = await noopQueue(redis.server);
  const { client, keys, prefix } = queue;
  for (const gpus of [0, 1, 2]) {
    for (const stream of [keys.tasks(gpus), keys.requeued(gpus)])
      await client.xgroup('CREATE', stream, TRACKER_GROUP, '0', 'MKSTREAM').catch(() => undefined);
  }
  const submit = async (
    spec: Record<string, unknown> = {},
    tenant = 'default',
    scheduling?: SchedulingSettings,
  ): Promise<string> =>
    (await enqueue({ redis: client, prefix }, { executer: 'noop', ...spec }, { tenant, scheduling })).id;
  const take = (consumer: string, now = Date.now(), gpus = [0, 1, 2]): Promise<TakeResult> =>
    takeTask(client, keys, {
      consumer,
      sizes: gpus.map((g) => ({ gpus: g, fitsNow: true })),
      leaseMs: 60_000,
      token: `${consumer}-${Math.random()}`,
      now,
      idle: true,
    });
  const taken = async (consumer: string, now?: number): Promise<Claim> => {
    const result = await take(consumer, now);
    if (result.kind !== 'claimed') throw new Error(`expected a claim, got ${result.kind}`);
    return result.claim;
  };
  return { ...queue, submit, take, taken };
}

describe('the scheduling policy', () => {
  it('takes the higher priority first, a requeued task first within its priority, then the older', async () => {
    const { submit, taken, client, keys } = await policyQueue();
    const a = await submit();
    const b = await submit();
    const urgent = await submit({ priority: 900 });
    const low = await submit({ priority: 100 });
    expect(await getTask(client, keys, a)).toMatchObject({ priority: DEFAULT_PRIORITY });
    expect((await taken('t1')).taskId).toBe(urgent);
    // b is taken and handed back: it goes before a, which waited all along, but not before...
    const claimB = await taken('t1');
    expect(claimB.taskId).toBe(a);
    const claimB2 = await taken('t1');
    expect(claimB2.taskId).toBe(b);
    expect(
      await releaseTask(client, keys, claimB2, Date.now(), { reason: 'x', attempt: 'free', first: true }),
    ).toBe(true);
    const later = await submit();
    const higher = await submit({ priority: 600 });
    // ...a task of a higher priority.
    expect((await taken('t1')).taskId).toBe(higher);
    expect((await taken('t1')).taskId).toBe(b);
    expect((await taken('t1')).taskId).toBe(later);
    expect((await taken('t1')).taskId).toBe(low);
  });

  it('moves a waiting task when its priority changes, and changes no other', async () => {
    const { submit, taken, take, client, keys } = await policyQueue();
    const first = await submit();
    const second = await submit();
    const events = await client.xlen(keys.events);
    expect(await setTaskPriority(client, keys, second, 901, Date.now())).toEqual({
      kind: 'changed',
      from: 500,
      to: 901,
    });
    // A waiting tracker is woken by an entry of the events stream that followers of statuses skip.
    const [[, fields] = ['', []]] = await client.xrevrange(keys.events, '+', '-', 'COUNT', 1);
    expect(await client.xlen(keys.events)).toBe(events + 1);
    expect(fields).not.toContain('status');
    expect(fields).toEqual(expect.arrayContaining(['change', 'priority', 'id', second]));
    const claim = await taken('t1');
    expect(claim.taskId).toBe(second);
    expect(await getTask(client, keys, second)).toMatchObject({ priority: 901 });
    expect(await setTaskPriority(client, keys, second, 100, Date.now())).toEqual({
      kind: 'not-waiting',
      status: 'running',
    });
    expect(await setTaskPriority(client, keys, 'nope', 100, Date.now())).toEqual({ kind: 'missing' });
    const refused = setTaskPriority(client, keys, first, 1001, Date.now());
    await expect(refused).rejects.toThrow(ValidationError);
    await expect(refused).rejects.toThrow(/priority: must be an integer from 0 to 1000/);
    expect((await taken('t1')).taskId).toBe(first);
    expect((await take('t1')).kind).toBe('empty');
  });

  it('shares between tenants by weight: 1:1 alternates, 3:1 gives three to one', async () => {
    for (const [weightA, expected] of [
      [1, 'abababab'],
      [3, 'abaaabaa'],
    ] as const) {
      const { submit, taken } = await policyQueue();
      const owner = new Map<string, string>();
      // Alice's tasks are all older than Bob's.
      for (let i = 0; i < 8; i++)
        owner.set(await submit({ gpus: 1 }, 'alice', { weight: weightA, maxRunningGpus: null }), 'a');
      for (let i = 0; i < 8; i++)
        owner.set(await submit({ gpus: 1 }, 'bob', { weight: 1, maxRunningGpus: null }), 'b');
      // One instant (no usage accrues): the ranks come from the running GPUs over the weights.
      const now = Date.now();
      let order = '';
      for (let i = 0; i < 8; i++) order += owner.get((await taken('t1', now)).taskId);
      expect(order).toBe(expected);
    }
  });

  it('passes over a tenant at its running-GPU quota, and concurrent takes never overcommit it', async () => {
    const { submit, take, client, keys } = await policyQueue();
    const quota = { weight: 1, maxRunningGpus: 2 };
    for (let i = 0; i < 4; i++) await submit({ gpus: 1 }, 'alice', quota);
    const bobs = await submit({ gpus: 1 }, 'bob');
    const results = await Promise.all(['t1', 't2', 't3', 't4'].map((t) => take(t)));
    const claims = results.flatMap((r) => (r.kind === 'claimed' ? [r.claim] : []));
    const tenants = claims.map((c) => c.record?.tenant).sort();
    expect(tenants).toEqual(['alice', 'alice', 'bob']);
    expect(claims.find((c) => c.record?.tenant === 'bob')?.taskId).toBe(bobs);
    expect(results.filter((r) => r.kind === 'wait')).toEqual([expect.objectContaining({ waitSet: '' })]);
    expect(await client.hget(keys.tenantGpus, 'alice')).toBe('2');
    // One of Alice's tasks ends: the next take is hers again.
    const alices = claims.filter((c) => c.record?.tenant === 'alice');
    expect(await completeTask(client, keys, alices[0] as Claim, 'succeeded', Date.now(), '')).toBe(true);
    expect(await take('t5')).toMatchObject({ kind: 'claimed', claim: { record: { tenant: 'alice' } } });
  });

  it('keeps each tenant’s decayed usage as its running GPUs change', async () => {
    const { submit, taken, client, keys } = await policyQueue();
    await submit({ gpus: 2 }, 'alice');
    const t0 = Date.now();
    const claim = await taken('t1', t0);
    const running = await readFairShare(client, keys, t0 + 500);
    expect(running.get('alice')?.usageGpuMs).toBeCloseTo(usageAt('0,0', 2, 500, DEFAULT_HALF_LIFE_MS), 3);
    expect(running.get('alice')?.runningGpus).toBe(2);
    expect(await completeTask(client, keys, claim, 'succeeded', t0 + 1000, '')).toBe(true);
    const ended = await readFairShare(client, keys, t0 + 1000);
    // 2 GPUs for 1 s, decayed by a second of an hour's half-life: a little under 2000 GPU-ms.
    expect(ended.get('alice')?.usageGpuMs).toBeGreaterThan(1999);
    expect(ended.get('alice')?.usageGpuMs).toBeLessThan(2000);
    expect(ended.get('alice')?.runningGpus).toBe(0);
    expect(ended.get('alice')?.rank).toBeCloseTo(ended.get('alice')?.usageGpuMs ?? 0, 6);
    // An hour later it is half.
    const later = await readFairShare(client, keys, t0 + 1000 + DEFAULT_HALF_LIFE_MS);
    expect((later.get('alice')?.usageGpuMs ?? 0) / (ended.get('alice')?.usageGpuMs ?? 1)).toBeCloseTo(0.5, 6);
  });

  it('indexes the tasks a version without wait sets left waiting, once', async () => {
    const { submit, take, taken, client, keys } = await policyQueue();
    const running = await submit();
    await taken('t1');
    const old = await submit();
    // As an older version left it: queued on its entry, in no wait set.
    await client.hdel(keys.task(old), 'waitSet', 'waitMember');
    await client.del(keys.waitSets, ...(await client.keys(`${keys.waitSet('')}*`)));
    expect(await take('t2')).toMatchObject({ kind: 'empty' });
    expect(await indexWaiting(client, keys, keys.tasks(0), Date.now())).toBe(1);
    expect(await indexWaiting(client, keys, keys.tasks(0), Date.now())).toBe(0);
    expect((await taken('t2')).taskId).toBe(old);
    expect(await getTask(client, keys, running)).toMatchObject({ status: 'running', tracker: 't1' });
  });

  it('lists in the tenant registry the wait sets a version without it left', async () => {
    const { submit, take, taken, client, keys } = await policyQueue();
    const waiting = [await submit({}, 'alice'), await submit({ gpus: 1, priority: 700 }, 'bob')];
    // As a version without the tenant registry left them: in their wait sets, not in the registry.
    await client.del(keys.waitTenants);
    expect(await take('t1')).toMatchObject({ kind: 'empty' });
    expect(await indexWaiting(client, keys, keys.tasks(0), Date.now())).toBe(0);
    expect(await indexWaiting(client, keys, keys.tasks(1), Date.now())).toBe(0);
    expect((await taken('t1')).taskId).toBe(waiting[1]);
    expect((await taken('t1')).taskId).toBe(waiting[0]);
  });

  it('computes usage and rank the same in Lua and TypeScript, from the same defaults', async () => {
    const client = redis.server.client();
    const cases = [
      [undefined, 0, 1000, 3_600_000],
      ['1500,1000', 2, 61_000, 60_000],
      ['0.5,5', 8, 5, 1000],
      ['12345.678,100', 1, 3_700_100, 3_600_000],
    ] as const;
    const script = `${luaLib('lib-common')}
local out = {}
for i = 1, #ARGV, 4 do
  local stored = ARGV[i] ~= '' and ARGV[i] or nil
  local u = usageAt(stored, tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]))
  out[#out + 1] = string.format('%.6f', u)
  out[#out + 1] = string.format('%.6f', fairShareRank(u, tonumber(ARGV[i + 1]), 2, tonumber(ARGV[i + 3])))
end
out[#out + 1] = tostring(DEFAULT_PRIORITY)
out[#out + 1] = tostring(DEFAULT_HALF_LIFE_MS)
out[#out + 1] = HALF_LIFE_FIELD
return out`;
    const reply = (await client.eval(
      script,
      0,
      ...cases.flatMap(([s, g, n, h]) => [s ?? '', String(g), String(n), String(h)]),
    )) as string[];
    const ts = cases.flatMap(([s, g, n, h]) => {
      const u = usageAt(s, g, n, h);
      return [u.toFixed(6), fairShareRank(u, g, 2, h).toFixed(6)];
    });
    expect(reply).toEqual([...ts, String(DEFAULT_PRIORITY), String(DEFAULT_HALF_LIFE_MS), HALF_LIFE_FIELD]);
  });
});
