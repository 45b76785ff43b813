// Queue positions: counted across the queue's wait sets in the order trackers take tasks, exact
// at each read (taken, handed back, cancelled and reprioritised tasks count at once), with what
// goes first by priority and by fair share; and the count of a task about to be submitted.
import { describe, expect, it } from 'vitest';
import {
  cancelTask,
  setTaskPriority,
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
  waitSet: string;
  waitMember: string;
}

async function setUp(): Promise<{
  keys: QueueKeys;
  submit: (gpus?: number, spec?: Record<string, unknown>, tenant?: string) => Promise<string>;
  tracker: FakeTracker;
  client: ReturnType<typeof redis.server.client>;
  positions: QueuePositions;
  positionsOf: (ids: readonly string[]) => Promise<Array<number | null>>;
}> {
  const client = redis.server.client();
  const prefix = uniquePrefix();
  const keys = queueKeys(prefix, 'default');
  await publishCatalog(client, keys, [PROBE]);
  const tracker = new FakeTracker(client, keys, new LocalArtifactStore(await temp.make()));
  const submit = async (gpus = 0, spec: Record<string, unknown> = {}, tenant?: string): Promise<string> =>
    (await enqueue({ redis: client, prefix }, { executer: 'probe', gpus, ...spec }, { tenant })).id;
  const positions = new QueuePositions(client, () => Date.now(), { maxAgeMs: 0 });
  const placeOf = async (id: string): Promise<Submitted> => {
    const [waitSet = '', waitMember = ''] = (await client.hmget(keys.task(id), 'waitSet', 'waitMember')).map(
      (v) => v ?? '',
    );
    return { id, waitSet, waitMember };
  };
  const positionsOf = async (ids: readonly string[]): Promise<Array<number | null>> =>
    Promise.all(
      ids.map(async (id) => (await positions.standingOf(keys, await placeOf(id)))?.position ?? null),
    );
  return { keys, submit, tracker, client, positions, positionsOf };
}

describe('QueuePositions', () => {
  it('counts waiting tasks ahead across GPU sizes, following takes and new tasks at once', async () => {
    const { keys, submit, tracker, positions, positionsOf } = await setUp();
    const tasks = [await submit(0), await submit(1), await submit(0), await submit(1), await submit(0)];
    expect(await positionsOf(tasks)).toEqual([0, 1, 2, 3, 4]);
    await tracker.take(0); // the oldest 0-GPU task
    await tracker.take(1); // the oldest 1-GPU task
    expect(await positionsOf(tasks)).toEqual([null, null, 0, 1, 2]);
    const late = await submit(1);
    expect(await positionsOf([late])).toEqual([3]);
    expect(await positions.countWaiting(keys, 500).count).toBe(4);
  });

  it('counts a task handed back to the queue before every waiting task of its priority', async () => {
    const { keys, submit, tracker, client, positionsOf } = await setUp();
    const first = await submit(1);
    const waiting = [await submit(0), await submit(1)];
    const claim = await tracker.take(1);
    expect(claim.taskId).toBe(first);
    await client.xgroup('CREATE', keys.requeued(1), TRACKER_GROUP, '0', 'MKSTREAM');
    await releaseTask(client, keys, claim, Date.now(), { reason: 'shutdown', attempt: 'free', first: true });
    expect(await client.hget(keys.task(first), 'stream')).toBe(keys.requeued(1));
    expect(await positionsOf([first, ...waiting])).toEqual([0, 1, 2]);
    // ...but not before a task of a higher priority.
    const urgent = await submit(0, { priority: 501 });
    expect(await positionsOf([urgent, first, ...waiting])).toEqual([0, 1, 2, 3]);
  });

  it('drops a cancelled task and moves a reprioritised one at once', async () => {
    const { keys, submit, client, positionsOf } = await setUp();
    const [a, b, c] = [await submit(), await submit(), await submit()];
    expect(await positionsOf([c])).toEqual([2]);
    await cancelTask(client, keys, b, Date.now());
    expect(await positionsOf([a, b, c])).toEqual([0, null, 1]);
    await setTaskPriority(client, keys, c, 900, Date.now());
    expect(await positionsOf([a, c])).toEqual([1, 0]);
  });

  it('says how many go first by priority and how many by fair share', async () => {
    const { keys, submit, client, tracker, positions } = await setUp();
    // Bob runs a task: at equal priority, Alice goes first.
    await submit(1, {}, 'bob');
    await tracker.take(1);
    const bobs = [await submit(0, {}, 'bob'), await submit(0, {}, 'bob')];
    await submit(0, {}, 'alice');
    await submit(0, { priority: 900 }, 'carol');
    const [waitSet = '', waitMember = ''] = (
      await client.hmget(keys.task(bobs[1] as string), 'waitSet', 'waitMember')
    ).map((v) => v ?? '');
    expect(await positions.standingOf(keys, { waitSet, waitMember })).toEqual({
      position: 3,
      higherPriority: 1,
      fairShare: 1,
    });
  });

  it('does not count a tenant at its running-GPU quota as ahead', async () => {
    const { keys, submit, tracker, client, positionsOf } = await setUp();
    const quota = { weight: 1, maxRunningGpus: 1 };
    const prefix = keys.prefix;
    const capped = async (): Promise<string> =>
      (
        await enqueue(
          { redis: client, prefix },
          { executer: 'probe', gpus: 1, priority: 600 },
          { tenant: 'alice', scheduling: quota },
        )
      ).id;
    await capped();
    await tracker.take(1); // Alice runs 1 GPU: at her quota
    const held = await capped();
    // Alice's waiting task has the higher priority, but take passes it over while she is at her
    // quota: Bob's is first in line, and nothing is ahead of hers either.
    const bob = await submit(1, {}, 'bob');
    expect(await positionsOf([bob, held])).toEqual([0, 0]);
  });

  it('counts, for a task being submitted, what waits at its priority or above', async () => {
    const { keys, submit, positions } = await setUp();
    await submit(0, { priority: 100 });
    await submit(1, { priority: 500 });
    await submit(2, { priority: 900 });
    expect(await positions.countWaiting(keys, 500).count).toBe(2);
    expect(await positions.countWaiting(keys, 901).count).toBe(0);
    expect(await positions.countWaiting(keys, 0).count).toBe(3);
  });
});
