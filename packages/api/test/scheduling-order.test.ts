// The scheduling order has one definition (core scheduling-order.ts); the trackers' take.lua and
// the API's queue positions must both follow it. On a mixed queue (three GPU counts, three
// priorities, two tenants of whom one has used GPUs lately, some tasks handed back into the
// requeued streams), each task's position must be exactly the number of tasks a tracker takes
// before it, and the take order must be compareWaiting's order. The clock stands still, and each
// task taken is completed at once, so the fair-share ranks do not move while the order is checked.
import { describe, expect, it } from 'vitest';
import {
  compareWaiting,
  completeTask,
  enqueue,
  newToken,
  parseWaitSetName,
  publishCatalog,
  queueKeys,
  readFairShare,
  releaseTask,
  shareOf,
  takeTask,
  TRACKER_GROUP,
  type Claim,
  type WaitingEntry,
} from '@gpufleet/core';
import { uniquePrefix, useRedis } from '@gpufleet/testkit';
import { QueuePositions } from '../src/tasks/queue-positions.js';
import { PROBE } from './helpers/fake-tracker.js';

const redis = useRedis();
const GPU_COUNTS = [0, 1, 2];
const T = 1_800_000_000_000;

describe('scheduling order', () => {
  it('queue positions count exactly the tasks take.lua takes first, in compareWaiting order', async () => {
    const client = redis.server.client();
    const prefix = uniquePrefix();
    const keys = queueKeys(prefix, 'default');
    await publishCatalog(client, keys, [PROBE]);
    for (const gpus of GPU_COUNTS) {
      for (const key of [keys.tasks(gpus), keys.requeued(gpus)])
        await client.xgroup('CREATE', key, TRACKER_GROUP, '0', 'MKSTREAM');
    }
    const take = async (now: number): Promise<Claim | null> => {
      const result = await takeTask(client, keys, {
        consumer: 'order-test',
        sizes: GPU_COUNTS.map((gpus) => ({ gpus, fitsNow: true })),
        leaseMs: 60_000,
        token: newToken(),
        now,
        idle: true,
      });
      if (result.kind === 'empty') return null;
      if (result.kind !== 'claimed') throw new Error(`unexpected take: ${result.kind}`);
      return result.claim;
    };
    const submit = async (spec: Record<string, unknown>, tenant: string): Promise<string> =>
      (await enqueue({ redis: client, prefix }, { executer: 'probe', ...spec }, { tenant })).id;
    // Alice used 2 GPUs for a second lately: at equal priority Bob goes first.
    await submit({ gpus: 2 }, 'alice');
    await completeTask(client, keys, (await take(T - 2000)) as Claim, 'succeeded', T - 1000, '');

    // 15 tasks of mixed sizes, priorities and tenants; take 4 and hand them back, newest first.
    const ids: string[] = [];
    for (let i = 0; i < 15; i++) {
      const spec = { gpus: GPU_COUNTS[(i * 7) % 3], priority: [500, 800, 500, 300][i % 4] };
      ids.push(await submit(spec, i % 2 === 0 ? 'alice' : 'bob'));
    }
    const taken: Claim[] = [];
    for (let i = 0; i < 4; i++) taken.push((await take(T)) as Claim);
    for (const claim of taken.reverse()) {
      const first = claim.taskId !== taken[1]?.taskId; // one goes back to its task stream instead
      await releaseTask(client, keys, claim, T, { reason: 'test', attempt: 'free', first });
    }

    const positions = new QueuePositions(client, () => T);
    const shares = await readFairShare(client, keys, T);
    expect(shareOf(shares, 'alice').rank).toBeGreaterThan(shareOf(shares, 'bob').rank);
    const entries = new Map<string, WaitingEntry & { position: number }>();
    for (const id of ids) {
      const [entryId = '', waitSet = '', waitMember = ''] = (
        await client.hmget(keys.task(id), 'entry', 'waitSet', 'waitMember')
      ).map((v) => v ?? '');
      const set = parseWaitSetName(waitSet);
      if (!set) throw new Error(`${id} is in no wait set`);
      const standing = await positions.standingOf(keys, { waitSet, waitMember });
      entries.set(id, {
        kind: set.kind === 'r' ? 'requeued' : 'waiting',
        entryId,
        priority: set.priority,
        tenant: set.tenant,
        fairShareRank: shareOf(shares, set.tenant).rank,
        position: standing?.position ?? -1,
      });
    }
    expect([...entries.values()].filter((e) => e.kind === 'requeued')).toHaveLength(3);
    const byDefinition = [...entries.keys()].sort((a, b) =>
      compareWaiting(entries.get(a) as WaitingEntry, entries.get(b) as WaitingEntry),
    );
    const byPosition = [...entries.keys()].sort(
      (a, b) => (entries.get(a)?.position ?? 0) - (entries.get(b)?.position ?? 0),
    );
    expect(byPosition).toEqual(byDefinition);
    expect([...entries.values()].map((e) => e.position).sort((a, b) => a - b)).toEqual([...ids.keys()]);

    const takeOrder: string[] = [];
    for (let claim = await take(T); claim !== null; claim = await take(T)) {
      takeOrder.push(claim.taskId);
      await completeTask(client, keys, claim, 'succeeded', T, '');
    }
    expect(takeOrder).toEqual(byDefinition);
  });
});
