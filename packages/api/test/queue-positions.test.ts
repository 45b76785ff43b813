// Queue positions: counted across the queue's task streams in the order trackers take tasks,
// brought up to date incrementally (taken entries dropped from the front, new ones appended),
// cancelled entries dropped by the periodic full re-read, and a lower bound past the cap.
// A settable clock stands in for time.
import { describe, expect, it } from 'vitest';
import {
  cancelTask,
  enqueue,
  LocalArtifactStore,
  publishCatalog,
  queueKeys,
  releaseTask,
  TRACKER_GROUP,
  type QueueKeys,
} from '@gpufleet/core';
import { uniquePrefix, useRedis, useTempDirs } from '@gpufleet/testkit';
import { QueuePositions } from '../src/tasks/queue-positions.js';
import { FakeTracker, PROBE } from './helpers/fake-tracker.js';

const redis = useRedis();
const temp = useTempDirs();

interface Submitted {
  id: string;
  entry: string;
  stream: string;
}

/** The task's stream entry as its record names it now. */
async function entryOf(
  client: ReturnType<typeof redis.server.client>,
  keys: QueueKeys,
  id: string,
): Promise<Submitted> {
  const [entry, stream] = (await client.hmget(keys.task(id), 'entry', 'stream')) as [string, string];
  return { id, entry, stream };
}

async function setUp(): Promise<{
  keys: QueueKeys;
  submit: (gpus?: number) => Promise<Submitted>;
  tracker: FakeTracker;
  client: ReturnType<typeof redis.server.client>;
}> {
  const client = redis.server.client();
  const prefix = uniquePrefix();
  const keys = queueKeys(prefix, 'default');
  await publishCatalog(client, keys, [PROBE]);
  const tracker = new FakeTracker(client, keys, new LocalArtifactStore(await temp.make()));
  const submit = async (gpus = 0): Promise<Submitted> => {
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'probe', gpus });
    return entryOf(client, keys, id);
  };
  return { keys, submit, tracker, client };
}

describe('QueuePositions', () => {
  it('counts waiting tasks ahead across GPU streams, following takes and new tasks', async () => {
    const { keys, submit, tracker } = await setUp();
    let now = 0;
    const positions = new QueuePositions(redis.server.client(), () => now, {
      maxAgeMs: 100,
      fullRefreshMs: 60_000,
    });
    const tasks = [await submit(0), await submit(1), await submit(0), await submit(1), await submit(0)];
    const all = async (): Promise<number[]> =>
      Promise.all(tasks.map((t) => positions.positionOf(keys, t.entry, t.stream)));
    expect(await all()).toEqual([0, 1, 2, 3, 4]);
    await tracker.take(0); // the oldest 0-GPU task
    await tracker.take(1); // the oldest 1-GPU task
    expect((await all()).slice(2)).toEqual([2, 3, 4]); // not yet re-read: up to maxAgeMs old
    now += 100;
    expect((await all()).slice(2)).toEqual([0, 1, 2]);
    const late = await submit(1);
    now += 100;
    expect(await positions.positionOf(keys, late.entry, late.stream)).toBe(3);
    expect(await positions.countWaiting(keys).count).toBe(4);
  });

  it('counts a task handed back to the queue before every waiting task, as trackers take it', async () => {
    const { keys, submit, tracker, client } = await setUp();
    let now = 0;
    const positions = new QueuePositions(redis.server.client(), () => now, { maxAgeMs: 100 });
    const first = await submit(1);
    const waiting = [await submit(0), await submit(1)];
    const claim = await tracker.take(1);
    expect(claim.taskId).toBe(first.id);
    await client.xgroup('CREATE', keys.requeued(1), TRACKER_GROUP, '0', 'MKSTREAM');
    await releaseTask(client, keys, claim, Date.now(), { reason: 'shutdown', attempt: 'free', first: true });
    const handedBack = await entryOf(client, keys, first.id);
    expect(handedBack.stream).toBe(keys.requeued(1));
    now += 100;
    expect(await positions.positionOf(keys, handedBack.entry, handedBack.stream)).toBe(0);
    const after = await Promise.all(waiting.map((t) => positions.positionOf(keys, t.entry, t.stream)));
    expect(after).toEqual([1, 2]);
    expect(await positions.countWaiting(keys).count).toBe(3);
  });

  it('drops a cancelled task at the next full re-read', async () => {
    const { keys, submit, client } = await setUp();
    let now = 0;
    const positions = new QueuePositions(redis.server.client(), () => now, {
      maxAgeMs: 100,
      fullRefreshMs: 1000,
    });
    const [a, b, c] = [await submit(), await submit(), await submit()];
    expect(await positions.positionOf(keys, c.entry, c.stream)).toBe(2);
    await cancelTask(client, keys, b.id, Date.now());
    now += 100;
    expect(await positions.positionOf(keys, c.entry, c.stream)).toBe(2); // incremental: still counted
    now += 1000;
    expect(await positions.positionOf(keys, c.entry, c.stream)).toBe(1);
    expect(await positions.positionOf(keys, a.entry, a.stream)).toBe(0);
  });

  it('gives a lower bound past the cap', async () => {
    const { keys, submit } = await setUp();
    const positions = new QueuePositions(redis.server.client(), () => 0, { capPerStream: 3 });
    const tasks = [];
    for (let i = 0; i < 5; i++) tasks.push(await submit());
    const found = await Promise.all(tasks.map((t) => positions.positionOf(keys, t.entry, t.stream)));
    expect(found).toEqual([0, 1, 2, 3, 3]);
  });
});
