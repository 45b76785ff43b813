// The scheduling order has one definition (core scheduling-order.ts); the trackers' take.lua and
// the API's queue positions must both follow it. On a mixed queue (tasks of three GPU counts,
// some handed back into the requeued streams), each task's position must be exactly the number
// of tasks a tracker takes before it, and the take order must be compareWaiting's order.
import { describe, expect, it } from 'vitest';
import {
  compareWaiting,
  enqueue,
  newToken,
  publishCatalog,
  queueKeys,
  releaseTask,
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
    const streams = GPU_COUNTS.flatMap((gpus) => [
      { key: keys.requeued(gpus), fitsNow: true, requeued: true },
      { key: keys.tasks(gpus), fitsNow: true },
    ]);
    const take = async (): Promise<Claim | null> => {
      const result = await takeTask(client, keys, {
        consumer: 'order-test',
        streams,
        leaseMs: 60_000,
        token: newToken(),
        now: Date.now(),
        idle: true,
      });
      if (result.kind === 'empty') return null;
      if (result.kind !== 'claimed') throw new Error(`unexpected take: ${result.kind}`);
      return result.claim;
    };
    // 12 tasks of mixed sizes; take 4 and hand them back (first in line), newest first, so the
    // requeued streams' order differs from submission order.
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const gpus = GPU_COUNTS[(i * 7) % GPU_COUNTS.length] as number;
      ids.push((await enqueue({ redis: client, prefix }, { executer: 'probe', gpus })).id);
    }
    const taken: Claim[] = [];
    for (let i = 0; i < 4; i++) taken.push((await take()) as Claim);
    for (const claim of taken.reverse()) {
      const first = claim.taskId !== taken[1]?.taskId; // one goes back to its task stream instead
      await releaseTask(client, keys, claim, Date.now(), { reason: 'test', attempt: 'free', first });
    }

    const positions = new QueuePositions(client, () => 0, { maxAgeMs: 0 });
    const entries = new Map<string, WaitingEntry & { position: number }>();
    for (const id of ids) {
      const [entryId, stream] = (await client.hmget(keys.task(id), 'entry', 'stream')) as [string, string];
      const kind = stream.includes(':requeued:') ? 'requeued' : 'waiting';
      entries.set(id, { kind, entryId, position: await positions.positionOf(keys, entryId, stream) });
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
    for (let claim = await take(); claim !== null; claim = await take()) takeOrder.push(claim.taskId);
    expect(takeOrder).toEqual(byDefinition);
  });
});
