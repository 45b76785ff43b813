// A task submitted `after` another waits, held out of line, until that one has ended, however it
// ended (succeeded, failed, cancelled while queued): then the sweep's promote puts it in line. A
// chain of three runs one at a time; `after` a task that has ended is no wait at all; `after` an
// unknown task, or another tenant's, is refused naming the field; a held task cancelled meanwhile
// leaves nothing behind once its predecessor ends.
import { describe, expect, it } from 'vitest';
import {
  cancelTask,
  completeTask,
  enqueue,
  getTask,
  promoteDelayed,
  takeTask,
  ValidationError,
  type QueueKeys,
  type TakeResult,
} from '@gpufleet/core';
import { useRedis } from '@gpufleet/testkit';
import { noopQueue } from './helpers/noop-queue.js';

const redis = useRedis();

type Client = ReturnType<typeof redis.server.client>;

function take(client: Client, keys: QueueKeys, token: string): Promise<TakeResult> {
  return takeTask(client, keys, {
    consumer: 'a',
    sizes: [{ gpus: 0, fitsNow: true }],
    leaseMs: 10_000,
    token,
    now: Date.now(),
    idle: true,
  });
}

async function claimed(client: Client, keys: QueueKeys, token: string): Promise<string> {
  const result = await take(client, keys, token);
  if (result.kind !== 'claimed') throw new Error(`expected a claim, got ${result.kind}`);
  return result.claim.taskId;
}

/** Takes the next task and completes it with `status`; returns its id. */
async function runNext(
  client: Client,
  keys: QueueKeys,
  token: string,
  status: 'succeeded' | 'failed',
): Promise<string> {
  const result = await take(client, keys, token);
  if (result.kind !== 'claimed') throw new Error(`expected a claim, got ${result.kind}`);
  expect(await completeTask(client, keys, result.claim, status, Date.now(), '')).toBe(true);
  return result.claim.taskId;
}

describe('tasks submitted after another', () => {
  it('hold a chain of three out of line until each predecessor has ended, however it ended', async () => {
    const { client, prefix, keys } = await noopQueue(redis.server);
    const deps = { redis: client, prefix };
    const a = await enqueue(deps, { executer: 'noop' });
    const b = await enqueue(deps, { executer: 'noop', after: a.id });
    const c = await enqueue(deps, { executer: 'noop', after: b.id });
    expect(await getTask(client, keys, b.id)).toMatchObject({ status: 'queued', after: a.id });
    expect(await client.zscore(keys.delayed, b.id)).toBe('inf');

    const first = await take(client, keys, 't1');
    expect(first.kind === 'claimed' && first.claim.taskId).toBe(a.id);
    // b and c are held: nothing else can be taken, and the sweep does not release them.
    expect((await take(client, keys, 't2')).kind).not.toBe('claimed');
    expect(await promoteDelayed(client, keys, Date.now())).toBe(0);

    if (first.kind !== 'claimed') throw new Error('unreachable');
    expect(await completeTask(client, keys, first.claim, 'failed', Date.now(), 'exit 1')).toBe(true);
    expect(await promoteDelayed(client, keys, Date.now())).toBe(1);
    expect(await runNext(client, keys, 't3', 'succeeded')).toBe(b.id);
    expect((await take(client, keys, 't4')).kind).not.toBe('claimed');
    expect(await promoteDelayed(client, keys, Date.now())).toBe(1);
    expect(await runNext(client, keys, 't5', 'succeeded')).toBe(c.id);
    expect(await client.zcard(keys.delayed)).toBe(0);
    expect(await getTask(client, keys, c.id)).toMatchObject({ status: 'succeeded', after: b.id });
  });

  it('releases the next when the one before is cancelled while it waits', async () => {
    const { client, prefix, keys } = await noopQueue(redis.server);
    const deps = { redis: client, prefix };
    const a = await enqueue(deps, { executer: 'noop' });
    const b = await enqueue(deps, { executer: 'noop', after: a.id });
    expect((await cancelTask(client, keys, a.id, Date.now())).kind).toBe('cancelled');
    expect(await promoteDelayed(client, keys, Date.now())).toBe(1);
    expect(await claimed(client, keys, 't1')).toBe(b.id);
  });

  it('waits for nothing after a task that has ended', async () => {
    const { client, prefix, keys } = await noopQueue(redis.server);
    const deps = { redis: client, prefix };
    const a = await enqueue(deps, { executer: 'noop' });
    expect(await runNext(client, keys, 't1', 'succeeded')).toBe(a.id);
    const b = await enqueue(deps, { executer: 'noop', after: a.id });
    expect(await client.zscore(keys.delayed, b.id)).toBeNull();
    expect(await claimed(client, keys, 't2')).toBe(b.id);
  });

  it('refuses an unknown task or another tenant’s, naming the field, and writes nothing', async () => {
    const { client, prefix, keys } = await noopQueue(redis.server);
    const deps = { redis: client, prefix };
    const theirs = await enqueue(deps, { executer: 'noop' }, { tenant: 'bob' });
    for (const after of [theirs.id, '01jzzzzzzzzzzzzzzzzzzzzzzz']) {
      const refused = await enqueue(deps, { executer: 'noop', after }, { tenant: 'alice' }).catch(
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(ValidationError);
      expect((refused as ValidationError).issues).toEqual([
        { field: 'after', reason: expect.stringContaining(after) as string },
      ]);
    }
    expect(await client.zcard(keys.index)).toBe(1);
    expect(await client.hget(keys.task(theirs.id), 'dependents')).toBeNull();
  });

  it('leaves nothing behind of a held task cancelled before its predecessor ended', async () => {
    const { client, prefix, keys } = await noopQueue(redis.server);
    const deps = { redis: client, prefix };
    const a = await enqueue(deps, { executer: 'noop' });
    const b = await enqueue(deps, { executer: 'noop', after: a.id });
    expect((await cancelTask(client, keys, b.id, Date.now())).kind).toBe('cancelled');
    expect(await runNext(client, keys, 't1', 'succeeded')).toBe(a.id);
    expect(await promoteDelayed(client, keys, Date.now())).toBe(0);
    expect(await client.zcard(keys.delayed)).toBe(0);
    expect(await getTask(client, keys, b.id)).toMatchObject({ status: 'cancelled' });
  });
});
