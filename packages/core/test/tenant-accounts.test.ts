// The tenant accounts (waiting tasks, running tasks and their GPUs, per tenant and queue) cannot
// drift from the task hashes: every kind of status change, for two tenants and several GPU counts,
// is followed by a recount from the task hashes (read in the same MULTI as the accounts) that must
// equal them, with no field left at 0. Also enqueue's waiting quota, which reads the same count.
import { describe, expect, it } from 'vitest';
import {
  cancelTask,
  completeTask,
  deadLetterQueued,
  enqueue,
  getTask,
  promoteDelayed,
  QuotaExceededError,
  readTenantAccounts,
  releaseTask,
  requeueOrphan,
  setTaskStatus,
  settleEntry,
  snapshotTenantAccounts,
  takeTask,
  schedulingKeys,
  TRACKER_GROUP,
  type Claim,
  type TakeResult,
} from '@gpufleet/core';
import { useRedis } from '@gpufleet/testkit';
import { noopQueue } from './helpers/noop-queue.js';
import { expectWaitSetsConsistent } from './helpers/wait-sets-check.js';

const redis = useRedis();
const GPU_COUNTS = [0, 1, 2, 4];

async function accountedQueue() {
  const queue = await noopQueue(redis.server);
  const { client, keys, prefix } = queue;
  for (const gpus of GPU_COUNTS) {
    for (const stream of [keys.tasks(gpus), keys.requeued(gpus)])
      await client.xgroup('CREATE', stream, TRACKER_GROUP, '0', 'MKSTREAM').catch(() => undefined);
  }
  const ids: string[] = [];
  /** The accounts equal the recount of every task of the queue, and hold no 0. */
  const check = async (step: string): Promise<void> => {
    const { stored, recounted } = await snapshotTenantAccounts(client, keys, ids);
    expect(stored, step).toEqual(recounted);
    await expectWaitSetsConsistent(client, keys, ids, step);
    for (const key of schedulingKeys(keys).slice(0, 3))
      expect(Object.values(await client.hgetall(key)), `${step}: ${key}`).not.toContain('0');
  };
  const submit = async (tenant: string, gpus: number, spec: Record<string, unknown> = {}) => {
    const { id } = await enqueue({ redis: client, prefix }, { executer: 'noop', gpus, ...spec }, { tenant });
    ids.push(id);
    await check(`enqueue ${tenant} ${gpus} GPUs`);
    return id;
  };
  const take = (
    consumer: string,
    gpus: number,
    token = `${consumer}-${Math.random()}`,
  ): Promise<TakeResult> =>
    takeTask(client, keys, {
      consumer,
      sizes: [{ gpus: gpus, fitsNow: true }],
      leaseMs: 60_000,
      token,
      now: Date.now(),
      idle: true,
      // For the task with a GPU request (b4: its wait set's name holds the request).
      gpuGroups: [{ name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559, total: 8, free: 8, freeAt: [] }],
    });
  const claimed = async (consumer: string, gpus: number, expected: string): Promise<Claim> => {
    const result = await take(consumer, gpus);
    if (result.kind !== 'claimed') throw new Error(`expected a claim, got ${result.kind}`);
    expect(result.claim.taskId).toBe(expected);
    await check(`take ${expected}`);
    return result.claim;
  };
  const complete = async (
    claim: Claim,
    status: 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'dead',
  ) => {
    expect(await completeTask(client, keys, claim, status, Date.now(), status)).toBe(true);
    await check(`complete ${claim.taskId} ${status}`);
  };
  const orphan = async (claim: Claim, holder: string): Promise<void> => {
    const { stream, entryId, taskId } = claim;
    const request = { stream, entryId, taskId, holder, minIdleMs: 0, holderDead: true, alone: false };
    expect(await requeueOrphan(client, keys, { ...request, reason: 'died', now: Date.now() })).toBe(
      'requeued',
    );
    await check(`orphan ${taskId}`);
  };
  const account = (waiting: number, runningTasks: number, runningGpus: number) => ({
    waiting,
    runningTasks,
    runningGpus,
  });
  return { ...queue, ids, check, submit, take, claimed, complete, orphan, account };
}

describe('the tenant accounts', () => {
  it('equal the recount from the task hashes after every kind of status change', async () => {
    const q = await accountedQueue();
    const { client, keys, check, submit, claimed, complete, orphan, account } = q;
    const now = Date.now;

    // enqueue; take; set uploading; complete with each final status.
    const a2 = await submit('alice', 2);
    const b1 = await submit('bob', 1);
    const a0 = await submit('alice', 0);
    const b4 = await submit('bob', 4, { gpuModels: ['H100'] });
    expect(await readTenantAccounts(client, keys)).toEqual({
      alice: account(2, 0, 0),
      bob: account(2, 0, 0),
    });
    const ca2 = await claimed('t1', 2, a2);
    const cb1 = await claimed('t1', 1, b1);
    const ca0 = await claimed('t1', 0, a0);
    expect(await readTenantAccounts(client, keys)).toEqual({
      alice: account(0, 2, 2),
      bob: account(1, 1, 1),
    });
    expect(await setTaskStatus(client, keys, ca2, 'uploading', now())).toBe(true);
    await check('set uploading');
    expect(await readTenantAccounts(client, keys)).toEqual({
      alice: account(0, 1, 0),
      bob: account(1, 1, 1),
    });
    await complete(ca2, 'succeeded');
    await complete(cb1, 'failed');
    await complete(ca0, 'timed_out');
    await complete(await claimed('t1', 1, await submit('alice', 1)), 'cancelled');
    await complete(await claimed('t1', 2, await submit('bob', 2)), 'dead');
    expect(await readTenantAccounts(client, keys)).toEqual({ bob: account(1, 0, 0) });

    // release: a retry after a backoff (then promoted), a hand-back first in line, an undo.
    const cb4 = await claimed('t1', 4, b4);
    const retry = { reason: 'retry', attempt: 'free', delayMs: 10, countFailure: true } as const;
    expect(await releaseTask(client, keys, cb4, now(), retry)).toBe(true);
    await check('release with a delay');
    expect(await promoteDelayed(client, keys, now() + 10)).toBe(1);
    await check('promote');
    const handBack = { reason: 'shutdown', attempt: 'free', first: true } as const;
    expect(await releaseTask(client, keys, await claimed('t1', 4, b4), now(), handBack)).toBe(true);
    await check('hand back');
    const undo = { reason: 'no room', attempt: 'undo', first: true } as const;
    expect(await releaseTask(client, keys, await claimed('t1', 4, b4), now(), undo)).toBe(true);
    await check('undo');

    // orphan requeue; settle of a previous life's running task; cancel of a queued task.
    await orphan(await claimed('t1', 4, b4), 't1');
    const life = await claimed('life', 4, b4);
    const settle = { stream: life.stream, entryId: life.entryId, taskId: b4, consumer: 'life', alone: false };
    expect(await settleEntry(client, keys, { ...settle, now: now() })).toBe('requeued');
    await check('settle');
    expect(await readTenantAccounts(client, keys)).toEqual({ bob: account(1, 0, 0) });
    expect(await cancelTask(client, keys, b4, now())).toEqual({ kind: 'cancelled' });
    await check('cancel a queued task');

    // cancel of a running task: its tracker completes it; one orphaned first ends at its next claim.
    const a0b = await submit('alice', 0);
    const ca0b = await claimed('t2', 0, a0b);
    expect(await cancelTask(client, keys, a0b, now())).toMatchObject({ kind: 'signalled' });
    await check('cancel a running task');
    await complete(ca0b, 'cancelled');
    const b0 = await submit('bob', 0);
    const cb0 = await claimed('t3', 0, b0);
    expect(await cancelTask(client, keys, b0, now())).toMatchObject({ kind: 'signalled' });
    await orphan(cb0, 't3');
    expect(await q.take('t4', 0)).toMatchObject({ kind: 'empty' });
    expect(await getTask(client, keys, b0)).toMatchObject({ status: 'cancelled' });
    await check('a claim that finds a cancel requested');

    // dead-letter of a queued task; attempts exhausted at a claim.
    const a2b = await submit('alice', 2);
    const entry = (await client.hget(keys.task(a2b), 'entry')) ?? '';
    expect(await deadLetterQueued(client, keys, a2b, entry, 'too big', now(), 'UNSCHEDULABLE')).toBe(true);
    await check('dead-letter a queued task');
    const b1b = await submit('bob', 1, { maxAttempts: 1 });
    await orphan(await claimed('t5', 1, b1b), 't5');
    expect(await q.take('t6', 1)).toMatchObject({ kind: 'dead', taskId: b1b });
    await check('attempts exhausted');
    expect(await readTenantAccounts(client, keys)).toEqual({});

    // Two tenants running at once.
    const a1b = await submit('alice', 1);
    const b2b = await submit('bob', 2);
    const claimA = await claimed('t7', 1, a1b);
    const claimB = await claimed('t8', 2, b2b);
    expect(await readTenantAccounts(client, keys)).toEqual({
      alice: account(0, 1, 1),
      bob: account(0, 1, 2),
    });
    await complete(claimA, 'succeeded');
    await complete(claimB, 'succeeded');

    // Every task ended: the hashes are empty.
    for (const key of schedulingKeys(keys).slice(0, 3)) expect(await client.exists(key)).toBe(0);
  });
  it('never go below 0 for a task that was waiting before the accounts existed (an upgrade)', async () => {
    const { client, keys, submit, take } = await accountedQueue();
    const id = await submit('alice', 2);
    // As if enqueued by a version that kept no accounts: the task is not counted.
    await client.del(keys.tenantWaiting, keys.tenantRunning, keys.tenantGpus);
    const result = await take('t1', 2);
    if (result.kind !== 'claimed') throw new Error(`expected a claim, got ${result.kind}`);
    expect(result.claim.taskId).toBe(id);
    expect(await client.hget(keys.tenantWaiting, 'alice')).toBeNull(); // not -1
    expect(await client.hget(keys.tenantGpus, 'alice')).toBe('2');
  });
});

describe('the waiting quota of enqueue', () => {
  it('refuses a task past the tenant’s limit in that queue, writing nothing, and replays still answer', async () => {
    const q = await accountedQueue();
    const { client, keys, prefix } = q;
    const deps = { redis: client, prefix };
    const limited = { tenant: 'alice', maxWaitingTasks: 2 };
    const first = await enqueue(deps, { executer: 'noop', idempotencyKey: 'k1' }, limited);
    await enqueue(deps, { executer: 'noop' }, limited);
    const before = {
      events: await client.xlen(keys.events),
      index: await client.zcard(keys.index),
      stream: await client.xlen(keys.tasks(0)),
    };
    const refused = await enqueue(
      deps,
      { executer: 'noop' },
      { ...limited, id: '01kquotaquotaquotaquotaquo' },
    ).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(QuotaExceededError);
    expect(refused).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      tenant: 'alice',
      queue: 'default',
      limit: 2,
      waiting: 2,
    });
    expect((refused as Error).message).toBe(
      'tenant "alice" has 2 tasks waiting in queue "default"; its limit is 2 (maxWaitingTasks)',
    );
    expect(await client.exists(keys.task('01kquotaquotaquotaquotaquo'))).toBe(0);
    expect({
      events: await client.xlen(keys.events),
      index: await client.zcard(keys.index),
      stream: await client.xlen(keys.tasks(0)),
    }).toEqual(before);
    // An idempotent replay at the limit is still a replay.
    expect(await enqueue(deps, { executer: 'noop', idempotencyKey: 'k1' }, limited)).toEqual({
      ...first,
      created: false,
    });
    // Per tenant, and per queue: bob, and alice without a limit, still get in.
    await enqueue(deps, { executer: 'noop' }, { tenant: 'bob', maxWaitingTasks: 2 });
    await enqueue(deps, { executer: 'noop' }, { tenant: 'alice' });
    await expect(
      enqueue(deps, { executer: 'noop' }, { tenant: 'alice', maxWaitingTasks: 0 }),
    ).rejects.toThrow(/has 3 tasks waiting in queue "default"; its limit is 0/);
    // A task taken frees its place.
    const limit4 = { tenant: 'alice', maxWaitingTasks: 3 };
    await expect(enqueue(deps, { executer: 'noop' }, limit4)).rejects.toBeInstanceOf(QuotaExceededError);
    expect(await q.take('t1', 0)).toMatchObject({ kind: 'claimed', claim: { taskId: first.id } });
    await expect(enqueue(deps, { executer: 'noop' }, limit4)).resolves.toMatchObject({ created: true });
    await expect(
      enqueue(deps, { executer: 'noop' }, { tenant: 'alice', maxWaitingTasks: -1 }),
    ).rejects.toThrow(TypeError);
  });
});
