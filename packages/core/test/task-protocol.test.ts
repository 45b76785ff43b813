// The fenced task protocol, straight against Redis: a claim hands out a lease token; only that
// token completes the task, once; an attempt another tracker took over cannot write; a queued
// cancel removes the entry so the task never starts.
import { describe, expect, it } from 'vitest';
import {
  cancelTask,
  completeTask,
  enqueue,
  getTask,
  releaseTask,
  renewLease,
  requeueOrphan,
  setTaskStatus,
  takeTask,
  TRACKER_GROUP,
  type Claim,
  type QueueKeys,
  type TakeResult,
} from '@gpufleet/core';
import { useRedis } from '@gpufleet/testkit';
import { noopQueue, type NoopQueue } from './helpers/noop-queue.js';

const redis = useRedis();

function setup(): Promise<NoopQueue> {
  return noopQueue(redis.server);
}

async function take(
  client: ReturnType<typeof redis.server.client>,
  keys: QueueKeys,
  consumer: string,
  token: string,
  leaseMs = 10_000,
): Promise<Claim> {
  const result = await takeTask(client, keys, {
    consumer,
    sizes: [{ gpus: 0, fitsNow: true }],
    leaseMs,
    token,
    now: Date.now(),
    idle: true,
  });
  if (result.kind !== 'claimed') throw new Error(`expected a claim, got ${result.kind}`);
  return result.claim;
}

describe('task protocol', () => {
  it('claims with a lease token that alone completes the task, exactly once', async () => {
    const { client, prefix, keys } = await setup();
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    const claim = await take(client, keys, 'a', 'token-a');
    expect(claim).toMatchObject({ taskId: id, attempt: 1 });
    expect(await getTask(client, keys, id)).toMatchObject({ status: 'running', tracker: 'a', attempt: 1 });
    expect(await completeTask(client, keys, { ...claim, token: 'forged' }, 'succeeded', Date.now(), '')).toBe(
      false,
    );
    expect(await completeTask(client, keys, claim, 'succeeded', Date.now(), '', { exitCode: 0 })).toBe(true);
    expect(await completeTask(client, keys, claim, 'failed', Date.now(), 'late')).toBe(false);
    expect(await getTask(client, keys, id)).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(await client.xlen(keys.tasks(0))).toBe(0);
    const pending = (await client.xpending(keys.tasks(0), TRACKER_GROUP)) as [number];
    expect(pending[0]).toBe(0);
    const events = (await client.xrange(keys.events, '-', '+')).map(([, f]) => f[3]);
    expect(events).toEqual(['queued', 'running', 'succeeded']);
  });

  it('refuses every write of an attempt whose task was claimed again after its lease lapsed', async () => {
    const { client, prefix, keys } = await setup();
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    const first = await take(client, keys, 'a', 'token-a', 50);
    await new Promise((resolve) => setTimeout(resolve, 80));
    // The sweep's backstop hands a task whose lease lapsed back to the queue (orphan.lua), and
    // another tracker takes it.
    expect(
      await requeueOrphan(client, keys, {
        stream: keys.tasks(0),
        entryId: first.entryId,
        taskId: id,
        holder: 'a',
        minIdleMs: 60,
        holderDead: false,
        alone: false,
        reason: 'lease lapsed',
        now: Date.now(),
      }),
    ).toBe('requeued');
    await client.xgroup('CREATE', keys.requeued(0), TRACKER_GROUP, '0', 'MKSTREAM');
    const second = await takeTask(client, keys, {
      consumer: 'b',
      sizes: [{ gpus: 0, fitsNow: true }],
      leaseMs: 10_000,
      token: 'token-b',
      now: Date.now(),
      idle: true,
    });
    expect(second).toMatchObject({ kind: 'claimed', claim: { attempt: 2 } });
    expect(await renewLease(client, keys, first, 'a', 10_000)).toBe('lost');
    expect(await setTaskStatus(client, keys, first, 'uploading', Date.now())).toBe(false);
    expect(await completeTask(client, keys, first, 'succeeded', Date.now(), '')).toBe(false);
    expect(await getTask(client, keys, id)).toMatchObject({ status: 'running', tracker: 'b', attempt: 2 });
  });

  it('lets an attempt whose lease key expired complete when nobody else claimed the task', async () => {
    const { client, prefix, keys } = await setup();
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    const claim = await take(client, keys, 'a', 'token-a', 30);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await client.exists(keys.lease(id))).toBe(0);
    expect(await completeTask(client, keys, claim, 'succeeded', Date.now(), '')).toBe(true);
  });

  it('requeues the task of a tracker whose liveness key expired, first in line, only while it stays expired', async () => {
    const { client, prefix, keys } = await setup();
    await client.xgroup('CREATE', keys.requeued(0), TRACKER_GROUP, '0', 'MKSTREAM');
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    await client.set(keys.trackerAlive('a'), 'instance-a', 'PX', 60_000);
    const first = await take(client, keys, 'a', 'token-a', 60_000);
    const later = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    const orphan = (minIdleMs: number, alone = false): ReturnType<typeof requeueOrphan> =>
      requeueOrphan(client, keys, {
        stream: keys.tasks(0),
        entryId: first.entryId,
        taskId: id,
        holder: 'a',
        minIdleMs,
        holderDead: true,
        alone,
        reason: 'tracker "a" stopped',
        now: Date.now(),
      });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await orphan(50)).toBe('held'); // a is alive
    await client.del(keys.trackerAlive('a'));
    expect(await orphan(60_000)).toBe('held'); // renewed lately
    await client.hset(keys.task(id), 'tracker', 'c'); // the live lease is another tracker's
    expect(await orphan(50)).toBe('held');
    await client.hset(keys.task(id), 'tracker', 'a');
    expect(await client.get(keys.lease(id))).toBe('token-a'); // nothing changed so far

    expect(await orphan(50)).toBe('requeued');
    expect(await client.exists(keys.lease(id))).toBe(0);
    expect(await getTask(client, keys, id)).toMatchObject({ status: 'queued', attempt: 1, maxAttempts: 3 });
    // It goes before the task that waited all along, and one death does not make it a suspect.
    const second = await takeTask(client, keys, {
      consumer: 'b',
      sizes: [{ gpus: 0, fitsNow: true }],
      leaseMs: 10_000,
      token: 'token-b',
      now: Date.now(),
      idle: false,
    });
    expect(second).toMatchObject({ kind: 'claimed', claim: { taskId: id, attempt: 2, suspect: false } });
    expect(await client.get(keys.lease(id))).toBe('token-b');
    // The dead tracker was only paused: it comes back, and loses through fencing.
    expect(await renewLease(client, keys, first, 'a', 60_000)).toBe('lost');
    expect(await completeTask(client, keys, first, 'succeeded', Date.now(), '')).toBe(false);
    expect(await getTask(client, keys, id)).toMatchObject({ status: 'running', tracker: 'b', attempt: 2 });
    const next = await take(client, keys, 'b', 'token-c');
    expect(next.taskId).toBe(later.id);
  });

  it('makes a suspect of a task present at two tracker deaths, or alone at one', async () => {
    const { client, prefix, keys } = await setup();
    await client.xgroup('CREATE', keys.requeued(0), TRACKER_GROUP, '0', 'MKSTREAM');
    const takeAny = async (consumer: string, idle: boolean): Promise<Claim | null> => {
      const r = await takeTask(client, keys, {
        consumer,
        sizes: [{ gpus: 0, fitsNow: true }],
        leaseMs: 10,
        token: `t-${consumer}`,
        now: Date.now(),
        idle,
      });
      return r.kind === 'claimed' ? r.claim : null;
    };
    const dies = async (claim: Claim, holder: string, alone: boolean): Promise<void> => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const result = await requeueOrphan(client, keys, {
        stream: claim.stream,
        entryId: claim.entryId,
        taskId: claim.taskId,
        holder,
        minIdleMs: 10,
        holderDead: true,
        alone,
        reason: 'died',
        now: Date.now(),
      });
      expect(result).toBe('requeued');
    };
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    await dies((await takeAny('a', true)) as Claim, 'a', false);
    expect(await getTask(client, keys, id)).toMatchObject({ status: 'queued' });
    const again = (await takeAny('b', false)) as Claim;
    expect(again).toMatchObject({ taskId: id, attempt: 2, suspect: false });
    await dies(again, 'b', false);
    // Two deaths: it waits for an idle tracker and runs there alone.
    expect(await takeAny('c', false)).toBeNull();
    expect(await takeAny('c', true)).toMatchObject({ taskId: id, attempt: 3, suspect: true });

    const lone = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    await dies((await takeAny('d', true)) as Claim, 'd', true);
    expect(await takeAny('e', false)).toBeNull();
    expect(await takeAny('e', true)).toMatchObject({ taskId: lone.id, suspect: true });
  });

  it('keeps maxAttempts as asked: a hand-back does not count, an undone claim is no attempt', async () => {
    const { client, prefix, keys } = await setup();
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'noop', maxAttempts: 2 });
    const handBack = async (claim: Claim, attempt: 'free' | 'undo' | 'count'): Promise<void> => {
      expect(await releaseTask(client, keys, claim, Date.now(), { reason: 'x', attempt, first: true })).toBe(
        true,
      );
    };
    await handBack(await take(client, keys, 'a', 'a1'), 'undo');
    expect(await getTask(client, keys, id)).toMatchObject({ status: 'queued', attempt: 0, maxAttempts: 2 });
    const takeFirst = async (token: string): Promise<TakeResult> =>
      takeTask(client, keys, {
        consumer: 'a',
        sizes: [{ gpus: 0, fitsNow: true }],
        leaseMs: 10_000,
        token,
        now: Date.now(),
        idle: true,
      });
    await client.xgroup('CREATE', keys.requeued(0), TRACKER_GROUP, '0', 'MKSTREAM');
    const one = await takeFirst('a2');
    expect(one).toMatchObject({ kind: 'claimed', claim: { attempt: 1 } });
    await handBack((one as { claim: Claim }).claim, 'free');
    const two = await takeFirst('a3');
    expect(two).toMatchObject({ kind: 'claimed', claim: { attempt: 2 } });
    await handBack((two as { claim: Claim }).claim, 'count');
    const three = await takeFirst('a4');
    expect(three).toMatchObject({ kind: 'claimed', claim: { attempt: 3 } });
    expect(await getTask(client, keys, id)).toMatchObject({ attempt: 3, maxAttempts: 2 });
    await handBack((three as { claim: Claim }).claim, 'count');
    // Two counted attempts (the second and third) of the two allowed: the next claim dead-letters it.
    expect(await takeFirst('a5')).toMatchObject({ kind: 'dead', taskId: id });
    expect(await getTask(client, keys, id)).toMatchObject({
      status: 'dead',
      attempt: 3,
      maxAttempts: 2,
      errorCode: 'ATTEMPTS_EXHAUSTED',
    });
  });

  it('cancels a queued task so that it never starts', async () => {
    const { client, prefix, keys } = await setup();
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'noop' });
    expect(await cancelTask(client, keys, id, Date.now())).toEqual({ kind: 'cancelled' });
    const result = await takeTask(client, keys, {
      consumer: 'a',
      sizes: [{ gpus: 0, fitsNow: true }],
      leaseMs: 1000,
      token: 't',
      now: Date.now(),
      idle: true,
    });
    expect(result.kind).toBe('empty');
    expect(await getTask(client, keys, id)).toMatchObject({ status: 'cancelled', errorCode: 'CANCELLED' });
    expect(await cancelTask(client, keys, id, Date.now())).toEqual({ kind: 'final', status: 'cancelled' });
  });

  it('takes the oldest waiting task across GPU sizes and waits rather than overtake it', async () => {
    const { client, prefix, keys } = await setup();
    for (const gpus of [1, 2])
      await client.xgroup('CREATE', keys.tasks(gpus), TRACKER_GROUP, '0', 'MKSTREAM');
    const big = await enqueue({ redis: client, prefix }, { executer: 'noop', gpus: 2 });
    // A GPU task behind it (a CPU task needs nothing it waits for: backfill.test.ts).
    await enqueue({ redis: client, prefix }, { executer: 'noop', gpus: 1 });
    const sizes = [
      { gpus: 1, fitsNow: true },
      { gpus: 2, fitsNow: false },
    ];
    const blocked = await takeTask(client, keys, {
      consumer: 'a',
      sizes,
      leaseMs: 1000,
      token: 't',
      now: Date.now(),
      idle: true,
    });
    const [lastEvent] = await client.xrevrange(keys.events, '+', '-', 'COUNT', 1);
    expect(blocked).toEqual({
      kind: 'wait',
      waitSet: '2:500:w:default',
      lastEventId: lastEvent?.[0],
      taskId: big.id,
    });
    const fits = sizes.map((s) => ({ ...s, fitsNow: true }));
    const taken = await takeTask(client, keys, {
      consumer: 'a',
      sizes: fits,
      leaseMs: 1000,
      token: 't',
      now: Date.now(),
      idle: true,
    });
    expect(taken).toMatchObject({ kind: 'claimed', claim: { taskId: big.id } });
  });
});
