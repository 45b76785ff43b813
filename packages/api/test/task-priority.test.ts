// Task priority through the API: a submitted `priority` and the queue's default (ApiDeps
// `defaultPriority`) in the task's view and in list items; PUT /v1/tasks/:id/priority moving a
// waiting task ahead at once (200 {id, priority, previous}), refusing a bad priority naming the
// field (400 VALIDATION_FAILED), a task that no longer waits (409 TASK_NOT_WAITING naming its
// status) and another tenant's or a missing task (404, the same answer).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTaskId, queueKeys } from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { auth, submitProbe, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;
let tracker: FakeTracker;

beforeAll(async () => {
  api = await startTestApi(redis.server, temp, {
    defaultPriority: (queue) => (queue === 'urgent' ? 800 : 300),
  });
  tracker = new FakeTracker(api.redis, api.keys, api.store);
  await tracker.register();
  await new FakeTracker(api.redis, queueKeys(api.prefix, 'urgent'), api.store).register();
});
afterAll(() => api.close());

async function submit(spec: Record<string, unknown> = {}, key: string = KEYS.alice): Promise<string> {
  return submitProbe(api.app, key, spec);
}

async function view(id: string) {
  const res = await api.app.inject({ url: `/v1/tasks/${id}`, headers: auth(KEYS.alice) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ priority: number; queuePosition: number | null; waitReason: string | null }>();
}

function setPriority(id: string, body: unknown, key: string = KEYS.alice) {
  return api.app.inject({
    method: 'PUT',
    url: `/v1/tasks/${id}/priority`,
    headers: auth(key),
    payload: body as Record<string, unknown>,
  });
}

describe('priority in task views', () => {
  it('is the submitted one, else the queue’s default, in the view and in list items', async () => {
    const given = await submit({ priority: 900, queue: 'urgent' });
    const urgent = await submit({ queue: 'urgent' });
    const plain = await submit();
    expect([
      (await view(given)).priority,
      (await view(urgent)).priority,
      (await view(plain)).priority,
    ]).toEqual([900, 800, 300]);
    const listed = (await api.app.inject({ url: '/v1/tasks?queue=urgent', headers: auth(KEYS.alice) })).json<{
      items: Array<{ id: string; priority: number }>;
    }>().items;
    expect(listed.map((t) => [t.id, t.priority])).toEqual([
      [urgent, 800],
      [given, 900],
    ]);
    // The urgent queue's tasks go by priority: the submitted 900 first.
    expect((await view(urgent)).queuePosition).toBe(1);
    expect((await view(given)).queuePosition).toBe(0);
  });
});

describe('PUT /v1/tasks/:id/priority', () => {
  it('moves a waiting task to its new place at once and answers the old and new priority', async () => {
    const ahead = await submit({ queue: 'urgent', priority: 850 });
    const behind = await submit({ queue: 'urgent', priority: 100 });
    expect((await view(behind)).queuePosition).toBeGreaterThan((await view(ahead)).queuePosition ?? 0);
    const res = await setPriority(behind, { priority: 1000 });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ id: behind, priority: 1000, previous: 100 });
    expect(await view(behind)).toMatchObject({ priority: 1000, queuePosition: 0, waitReason: 'Resources' });
    expect(await view(ahead)).toMatchObject({ priority: 850, waitReason: 'Priority' });
    // Back down: it goes behind again.
    expect((await setPriority(behind, { priority: 0 })).json()).toEqual({
      id: behind,
      priority: 0,
      previous: 1000,
    });
    expect((await view(behind)).queuePosition).toBeGreaterThan((await view(ahead)).queuePosition ?? 0);
  });

  it.each([
    [{ priority: 1001 }, 'priority', 'must be an integer from 0 to 1000'],
    [{ priority: -1 }, 'priority', 'must be an integer from 0 to 1000'],
    [{ priority: 2.5 }, 'priority', 'must be an integer from 0 to 1000'],
    [{ priority: 'high' }, 'priority', 'must be an integer from 0 to 1000'],
    [{}, 'priority', undefined],
    [{ priority: 5, nice: 1 }, 'nice', undefined],
  ])('refuses %j with 400 VALIDATION_FAILED naming the field', async (body, field, reason) => {
    const id = await submit();
    const res = await setPriority(id, body);
    expect(res.statusCode, res.body).toBe(400);
    const error = res.json<{
      error: { code: string; details: { issues: Array<{ field: string; reason: string }> } };
    }>().error;
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details.issues.map((i) => i.field)).toContain(field);
    if (reason) expect(error.details.issues).toContainEqual({ field, reason });
    expect((await view(id)).priority).toBe(300);
  });

  it('answers 409 TASK_NOT_WAITING naming the status of a task that runs or ended', async () => {
    const id = await submit();
    // Take every waiting task of the default queue until this one runs.
    let claim = await tracker.take();
    while (claim.taskId !== id) claim = await tracker.take();
    const running = await setPriority(id, { priority: 900 });
    expect(running.statusCode).toBe(409);
    expect(running.json()).toEqual({
      error: {
        code: 'TASK_NOT_WAITING',
        message: 'the task is running: only a queued task can change its priority',
        details: { status: 'running' },
      },
    });
    await tracker.finish(claim, 'succeeded');
    const ended = await setPriority(id, { priority: 900 });
    expect(ended.statusCode).toBe(409);
    expect(ended.json<{ error: { details: unknown } }>().error.details).toEqual({ status: 'succeeded' });
    expect((await view(id)).priority).toBe(300);
  });

  it('answers another tenant’s task exactly like a missing one (404), and changes nothing', async () => {
    const id = await submit();
    const foreign = await setPriority(id, { priority: 900 }, KEYS.bob);
    const missing = await setPriority(newTaskId(Date.now()), { priority: 900 }, KEYS.bob);
    expect([foreign.statusCode, missing.statusCode]).toEqual([404, 404]);
    expect(foreign.json()).toEqual(missing.json());
    expect(foreign.json<{ error: { code: string } }>().error.code).toBe('NOT_FOUND');
    expect((await view(id)).priority).toBe(300);
  });
});
