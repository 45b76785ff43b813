// The quota on waiting tasks through the API: a tenant at its limit in a queue gets 429
// QUOTA_EXCEEDED naming the limit, the tenant, the queue and the count, and nothing is written;
// 20 submissions at once against a limit of 5 make exactly 5 tasks; an idempotent replay still
// answers as one; other tenants and other queues are not held back. GET /v1/queues shows each
// tenant's tasks waiting and running and their GPUs (a user key only its own tenant's).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishCatalog, queueKeys } from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { TenantPolicy } from '@gpufleet/api';
import { auth, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { FakeTracker, PROBE } from './helpers/fake-tracker.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;
let tracker: FakeTracker;

beforeAll(async () => {
  api = await startTestApi(redis.server, temp, {
    tenants: new TenantPolicy({ alice: { maxWaitingTasks: 5 } }, { maxWaitingTasks: 2 }),
  });
  tracker = new FakeTracker(api.redis, api.keys, api.store);
  await tracker.register();
  await publishCatalog(api.redis, queueKeys(api.prefix, 'other'), [PROBE]);
});
afterAll(() => api?.close());

function submit(key: string, body: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return api.app.inject({
    method: 'POST',
    url: '/v1/tasks',
    headers: { ...auth(key), ...headers },
    payload: { executer: 'probe', ...body },
  });
}

interface Account {
  waiting: number;
  runningTasks: number;
  runningGpus: number;
}

/** The queue's tenants and their accounts (their fair share is queues-fair-share.test.ts's). */
async function queues(key: string) {
  const res = await api.app.inject({ url: '/v1/queues?queue=default', headers: auth(key) });
  expect(res.statusCode, res.body).toBe(200);
  const queue = res.json<{ queues: Array<{ queue: string; tenants: Record<string, Account> }> }>().queues[0];
  const tenants = Object.fromEntries(
    Object.entries(queue?.tenants ?? {}).map(([tenant, { waiting, runningTasks, runningGpus }]) => [
      tenant,
      { waiting, runningTasks, runningGpus },
    ]),
  );
  return { ...queue, tenants };
}

describe('the waiting quota', () => {
  it('lets exactly 5 of 20 concurrent submissions in at a limit of 5, and refuses the rest with 429', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => submit(KEYS.alice)));
    const created = answers.filter((r) => r.statusCode === 201);
    const refused = answers.filter((r) => r.statusCode === 429);
    expect(created).toHaveLength(5);
    expect(refused).toHaveLength(15);
    expect(refused[0]?.json()).toEqual({
      error: {
        code: 'QUOTA_EXCEEDED',
        message: 'tenant "alice" has 5 tasks waiting in queue "default"; its limit is 5 (maxWaitingTasks)',
        details: { limit: 5, waiting: 5, tenant: 'alice', queue: 'default' },
      },
    });
    // Nothing was written for a refused task.
    expect(await api.redis.zcard(api.keys.index)).toBe(5);
    expect(await api.redis.xlen(api.keys.tasks(0))).toBe(5);
    expect(await api.redis.hget(api.keys.tenantWaiting, 'alice')).toBe('5');
  });

  it('answers a replay as a replay at the limit; other tenants, the default limit and other queues apart', async () => {
    const first = await submit(KEYS.bob, {}, { 'idempotency-key': 'once' });
    expect(first.statusCode, first.body).toBe(201);
    expect((await submit(KEYS.bob)).statusCode).toBe(201);
    // bob sets no limit of his own: the default (2) holds him.
    const third = await submit(KEYS.bob);
    expect(third.statusCode).toBe(429);
    expect(third.json<{ error: { message: string } }>().error.message).toBe(
      'tenant "bob" has 2 tasks waiting in queue "default"; its limit is 2 (maxWaitingTasks)',
    );
    const replay = await submit(KEYS.bob, {}, { 'idempotency-key': 'once' });
    expect(replay.statusCode, replay.body).toBe(200);
    expect(replay.json()).toMatchObject({ id: first.json<{ id: string }>().id, replayed: true });
    // Quotas are per queue.
    // (A queue no tracker serves: accepted as a task that may wait for one.)
    expect((await submit(KEYS.alice, { queue: 'other', waitForCapacity: true })).statusCode).toBe(201);
    // A task taken frees a place.
    await tracker.take(0);
    expect((await submit(KEYS.alice)).statusCode).toBe(201);
    expect((await submit(KEYS.alice)).statusCode).toBe(429);
  });

  it('GET /v1/queues shows each tenant’s waiting and running tasks and GPUs; a user key only its own', async () => {
    const claim = await tracker.take(0);
    const admin = await queues(KEYS.admin);
    expect(admin?.tenants).toEqual({
      alice: { waiting: 4, runningTasks: 2, runningGpus: 0 },
      bob: { waiting: 2, runningTasks: 0, runningGpus: 0 },
    });
    expect((await queues(KEYS.alice))?.tenants).toEqual({
      alice: { waiting: 4, runningTasks: 2, runningGpus: 0 },
    });
    expect((await queues(KEYS.bob))?.tenants).toEqual({
      bob: { waiting: 2, runningTasks: 0, runningGpus: 0 },
    });
    expect((await submit(KEYS.alice, { gpus: 2 })).statusCode).toBe(201);
    const gpuClaim = await tracker.take(2);
    expect((await queues(KEYS.alice))?.tenants).toEqual({
      alice: { waiting: 4, runningTasks: 3, runningGpus: 2 },
    });
    await tracker.finish(gpuClaim, 'succeeded');
    await tracker.finish(claim, 'failed');
    expect((await queues(KEYS.alice))?.tenants).toEqual({
      alice: { waiting: 4, runningTasks: 1, runningGpus: 0 },
    });
  });
});
