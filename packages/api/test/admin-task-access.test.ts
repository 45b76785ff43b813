// An admin key reaches any tenant's task by id: it reads it, its logs and its outputs, changes its
// priority and cancels it, as its own tenant would; another tenant's user key still gets 404 for
// all of it, and the lists stay per tenant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, submitProbe, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;
let tracker: FakeTracker;

beforeAll(async () => {
  api = await startTestApi(redis.server, temp);
  tracker = new FakeTracker(api.redis, api.keys, api.store);
  await tracker.register();
});
afterAll(async () => {
  await api?.close();
});

const call = (key: string, method: 'GET' | 'POST' | 'PUT', url: string, payload?: Record<string, unknown>) =>
  api.app.inject({ method, url, headers: auth(key), ...(payload !== undefined && { payload }) });

describe('an admin key and another tenant’s task', () => {
  it('reads a finished task of alice, its logs and outputs; bob gets 404 for each', async () => {
    const id = await submitProbe(api.app, KEYS.alice);
    const claim = await tracker.take();
    await tracker.log(claim, 'stdout', 'hello from alice\n');
    await tracker.finish(claim, 'succeeded', { 'result.txt': 'alice’s result' });
    const view = await call(KEYS.admin, 'GET', `/v1/tasks/${id}`);
    expect(view.statusCode).toBe(200);
    expect(view.json()).toMatchObject({ id, tenant: 'alice', status: 'succeeded' });
    const logs = await call(KEYS.admin, 'GET', `/v1/tasks/${id}/logs`);
    expect(logs.statusCode).toBe(200);
    expect(logs.body).toContain('hello from alice');
    const file = await call(KEYS.admin, 'GET', `/v1/tasks/${id}/outputs/result.txt`);
    expect(file.statusCode).toBe(200);
    expect(file.body).toBe('alice’s result');
    for (const url of [`/v1/tasks/${id}`, `/v1/tasks/${id}/logs`, `/v1/tasks/${id}/outputs/result.txt`])
      expect((await call(KEYS.bob, 'GET', url)).statusCode, url).toBe(404);
    // Lists stay per tenant: the admin's own tenant lists none of alice's tasks.
    const list = await call(KEYS.admin, 'GET', '/v1/tasks');
    expect(list.statusCode).toBe(200);
    expect(list.json<{ items: Array<{ id: string }> }>().items.map((t) => t.id)).not.toContain(id);
    expect(
      (await call(KEYS.alice, 'GET', '/v1/tasks'))
        .json<{ items: Array<{ id: string }> }>()
        .items.map((t) => t.id),
    ).toContain(id);
  });

  it('changes the priority of a waiting task of alice and cancels it; bob can do neither', async () => {
    const id = await submitProbe(api.app, KEYS.alice);
    expect((await call(KEYS.bob, 'PUT', `/v1/tasks/${id}/priority`, { priority: 900 })).statusCode).toBe(404);
    expect((await call(KEYS.bob, 'POST', `/v1/tasks/${id}/cancel`)).statusCode).toBe(404);
    const priority = await call(KEYS.admin, 'PUT', `/v1/tasks/${id}/priority`, { priority: 900 });
    expect(priority.statusCode).toBe(200);
    expect((await call(KEYS.alice, 'GET', `/v1/tasks/${id}`)).json()).toMatchObject({ priority: 900 });
    const cancel = await call(KEYS.admin, 'POST', `/v1/tasks/${id}/cancel`);
    expect(cancel.statusCode).toBe(200);
    expect((await call(KEYS.alice, 'GET', `/v1/tasks/${id}`)).json()).toMatchObject({ status: 'cancelled' });
  });
});
