// take.lua reads a class's tenants from the tenant registry and ranks only those that can rank
// lowest (lib-order.lua: a tenant's running GPUs per weight bound its rank). Here, on a seeded
// random queue of many tenants (weights, running-GPU quotas, usage that decays, ties of tenants that
// never ran, priorities, tasks handed back into the requeued streams), every take must claim the
// task that compareWaiting puts first among those the quotas allow, computed in TypeScript from the
// task hashes and readFairShare; and the wait sets and both registries must stay exact.
import { describe, expect, it } from 'vitest';
import {
  compareWaiting,
  completeTask,
  enqueue,
  parseWaitSetName,
  readFairShare,
  releaseTask,
  shareOf,
  takeTask,
  TRACKER_GROUP,
  type Claim,
  type WaitingEntry,
} from '@gpufleet/core';
import { useRedis } from '@gpufleet/testkit';
import { noopQueue } from './helpers/noop-queue.js';
import { expectWaitSetsConsistent } from './helpers/wait-sets-check.js';

const redis = useRedis();
const SIZES = [0, 1, 2, 4];
const HALF_LIFE_MS = 10_000;
const TENANTS = [
  { tenant: 'a', weight: 1, maxRunningGpus: null },
  { tenant: 'b', weight: 1, maxRunningGpus: null },
  { tenant: 'c', weight: 2, maxRunningGpus: null },
  { tenant: 'd', weight: 3, maxRunningGpus: 4 },
  { tenant: 'e', weight: 1, maxRunningGpus: 2 },
  { tenant: 'f', weight: 2, maxRunningGpus: null },
  { tenant: 'g', weight: 1, maxRunningGpus: 1 },
  { tenant: 'h', weight: 5, maxRunningGpus: null },
] as const;

/** mulberry32: a seeded PRNG, so that a failure replays. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('take with many tenants', () => {
  it('claims compareWaiting’s first among the tasks the quotas allow, step after step', async () => {
    const { client, keys, prefix } = await noopQueue(redis.server);
    for (const gpus of SIZES) {
      for (const stream of [keys.tasks(gpus), keys.requeued(gpus)])
        await client.xgroup('CREATE', stream, TRACKER_GROUP, '0', 'MKSTREAM').catch(() => undefined);
    }
    const rand = random(18);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
    let now = 1_800_000_000_000;
    const ids: string[] = [];
    const submit = async (): Promise<void> => {
      const { tenant, weight, maxRunningGpus } = pick(TENANTS);
      const spec = { executer: 'noop', gpus: pick(SIZES), priority: pick([300, 500, 500, 700]) };
      const options = { tenant, scheduling: { weight, maxRunningGpus }, fairShareHalfLifeMs: HALF_LIFE_MS };
      ids.push((await enqueue({ redis: client, prefix, now: () => now }, spec, options)).id);
    };
    for (let i = 0; i < 90; i++) await submit();

    /** The task take must claim now: the first by compareWaiting of those within their quota. */
    const expected = async (): Promise<string | null> => {
      const shares = await readFairShare(client, keys, now);
      const waiting: Array<WaitingEntry & { id: string }> = [];
      for (const id of ids) {
        const [entryId, waitSet] = await client.hmget(keys.task(id), 'entry', 'waitSet');
        const set = parseWaitSetName(waitSet ?? '');
        if (!set || !entryId) continue;
        const share = shareOf(shares, set.tenant);
        if (share.maxRunningGpus !== null && share.runningGpus + set.gpus > share.maxRunningGpus) continue;
        const kind = set.kind === 'r' ? 'requeued' : 'waiting';
        waiting.push({
          id,
          kind,
          entryId,
          priority: set.priority,
          tenant: set.tenant,
          fairShareRank: share.rank,
        });
      }
      waiting.sort(compareWaiting);
      return waiting[0]?.id ?? null;
    };

    const running: Claim[] = [];
    let claims = 0;
    for (let step = 0; step < 120; step++) {
      now += Math.floor(rand() * 6000);
      const want = await expected();
      const result = await takeTask(client, keys, {
        consumer: 'many',
        sizes: SIZES.map((gpus) => ({ gpus, fitsNow: true })),
        leaseMs: 600_000,
        token: `t${step}`,
        now,
        idle: true,
      });
      if (want === null) {
        expect(['empty', 'wait'], `step ${step}`).toContain(result.kind);
      } else {
        expect(result.kind, `step ${step}`).toBe('claimed');
        if (result.kind !== 'claimed') continue;
        expect(result.claim.taskId, `step ${step}`).toBe(want);
        running.push(result.claim);
        claims++;
      }
      // Some tasks end (their tenant's usage stays, decaying), some go back first in line, and
      // new ones arrive.
      const roll = rand();
      if (running.length > 0 && roll < 0.35) {
        const [claim] = running.splice(Math.floor(rand() * running.length), 1);
        await completeTask(client, keys, claim as Claim, 'succeeded', now, '');
      } else if (running.length > 0 && roll < 0.45) {
        const [claim] = running.splice(Math.floor(rand() * running.length), 1);
        await releaseTask(client, keys, claim as Claim, now, {
          reason: 'test',
          attempt: 'free',
          first: true,
        });
      } else if (roll < 0.8) {
        await submit();
      }
      if (step % 20 === 0) await expectWaitSetsConsistent(client, keys, ids, `step ${step}`);
    }
    expect(claims).toBeGreaterThan(60);
    await expectWaitSetsConsistent(client, keys, ids, 'the end');
  });

  it('ranks a tenant of more GPUs per weight when the usage of the lowest ranks that one behind', async () => {
    const { client, keys, prefix } = await noopQueue(redis.server);
    await client.xgroup('CREATE', keys.tasks(1), TRACKER_GROUP, '0', 'MKSTREAM');
    const now = 1_800_000_000_000;
    const steady = HALF_LIFE_MS / Math.LN2; // the usage of one GPU once steady
    const submit = async (tenant: string): Promise<string> => {
      const options = { tenant, fairShareHalfLifeMs: HALF_LIFE_MS };
      return (
        await enqueue({ redis: client, prefix, now: () => now }, { executer: 'noop', gpus: 1 }, options)
      ).id;
    };
    const take = async (): Promise<string> => {
      const result = await takeTask(client, keys, {
        consumer: 'bound',
        sizes: [{ gpus: 1, fitsNow: true }],
        leaseMs: 600_000,
        token: `t${Math.random()}`,
        now,
        idle: true,
      });
      if (result.kind !== 'claimed') throw new Error(`expected a claim, got ${result.kind}`);
      return result.claim.taskId;
    };
    // y comes to run 1 GPU (rank: 1 × steady) and z 2 (2 × steady), neither with past usage.
    const started = [await submit('y'), await submit('z'), await submit('z')];
    expect([await take(), await take(), await take()]).toEqual(started);
    // x runs none (the lowest bound: 0) but used 1.2 GPUs' steady usage: y goes first.
    await client.hset(keys.tenantUsage, 'x', `${1.2 * steady},${now}`);
    await submit('x');
    const y = await submit('y');
    await submit('z');
    expect(await take()).toBe(y);
  });
});
