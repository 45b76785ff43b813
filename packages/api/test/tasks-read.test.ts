// GET /v1/tasks/:id (the record as the API shows it, its queue position while it waits, another
// tenant's task answered exactly like a missing one), GET /v1/tasks (newest first, filters,
// cursor paging over several queues) and POST /v1/tasks/:id/cancel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTaskId, queueKeys } from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { FakeTracker, PROBE } from './helpers/fake-tracker.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;
let tracker: FakeTracker;

beforeAll(async () => {
  api = await startTestApi(redis.server, temp);
  tracker = new FakeTracker(api.redis, api.keys, api.store);
  await tracker.register([PROBE, { ...PROBE, name: 'other' }]);
  await new FakeTracker(api.redis, queueKeys(api.prefix, 'big'), api.store).register();
});
afterAll(() => api.close());

async function submit(spec: Record<string, unknown> = {}, key: string = KEYS.alice): Promise<string> {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/tasks',
    headers: auth(key),
    payload: { executer: 'probe', ...spec },
  });
  expect(res.statusCode).toBe(201);
  return res.json<{ id: string }>().id;
}

async function get(url: string, key: string = KEYS.alice) {
  return api.app.inject({ url, headers: auth(key) });
}

describe('GET /v1/tasks/:id', () => {
  it('shows status, attempts, tracker, timestamps, exit code, error and its code, output summary', async () => {
    const id = await submit({ params: { steps: 2 } });
    const claim = await tracker.take();
    expect(claim.taskId).toBe(id);
    const running = (await get(`/v1/tasks/${id}`)).json();
    expect(running).toMatchObject({
      id,
      status: 'running',
      attempt: 1,
      tracker: 'fake-tracker',
      queuePosition: null,
    });
    expect(Date.parse(running.startedAt)).toBeGreaterThan(0);
    expect(running.errorCode).toBeNull();
    await tracker.finish(
      claim,
      'failed',
      { 'result.csv': 'a,b\n1,2\n', 'stderr.txt': 'boom\n' },
      { errorCode: 'EXIT_NONZERO' },
    );
    const ended = (await get(`/v1/tasks/${id}`)).json();
    expect(ended).toMatchObject({
      status: 'failed',
      exitCode: 1,
      error: 'ended failed',
      errorCode: 'EXIT_NONZERO',
      outputs: { attempt: 1, files: 2, bytes: 13 },
      params: { steps: 2 },
      tenant: 'alice',
    });
    expect(Date.parse(ended.endedAt)).toBeGreaterThanOrEqual(Date.parse(ended.startedAt));
    const listed = (await get('/v1/tasks?status=failed')).json<{ items: Array<{ id: string }> }>();
    expect(listed.items.find((t) => t.id === id)).toMatchObject({
      error: 'ended failed',
      errorCode: 'EXIT_NONZERO',
    });
  });

  it('gives each waiting task its place in the queue', async () => {
    const keys = queueKeys(api.prefix, 'big');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await submit({ queue: 'big' }));
    const positions: number[] = [];
    for (const id of ids) positions.push((await get(`/v1/tasks/${id}`)).json().queuePosition);
    expect(positions).toEqual([0, 1, 2]);
    await new FakeTracker(api.redis, keys, api.store).take();
    // Positions may be half a second old; wait for the shared snapshot to move on.
    await expect
      .poll(async () => (await get(`/v1/tasks/${ids[2]}`)).json().queuePosition, { timeout: 3000 })
      .toBe(1);
  });

  it('answers another tenant’s task, a missing task and a malformed id with the same 404', async () => {
    const id = await submit();
    const answers = [
      await get(`/v1/tasks/${id}`, KEYS.bob),
      await get(`/v1/tasks/${newTaskId()}`),
      await get('/v1/tasks/not-an-id'),
    ];
    for (const res of answers) {
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no such task', details: {} } });
    }
    expect((await get(`/v1/tasks/${id}`, KEYS.alice)).statusCode).toBe(200);
  });
});

describe('GET /v1/tasks', () => {
  it('lists only the tenant’s tasks, newest first, page by page', async () => {
    const mine: string[] = [];
    for (let i = 0; i < 7; i++) {
      mine.push(await submit({ params: { label: `page-${i}` } }, KEYS.bob));
      if (i === 3) await submit({}, KEYS.alice);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/v1/tasks?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await get(url, KEYS.bob);
      expect(res.statusCode).toBe(200);
      const page = res.json<{ items: Array<{ id: string }>; nextCursor: string | null }>();
      seen.push(...page.items.map((t) => t.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 10);
    const bobsEarlier = seen.filter((id) => !mine.includes(id));
    expect(seen.filter((id) => mine.includes(id))).toEqual([...mine].reverse());
    expect(bobsEarlier.every((id) => !mine.includes(id))).toBe(true);
    expect(pages).toBeGreaterThanOrEqual(3);
  });

  it('merges queues and filters by status and executer', async () => {
    const a = await submit({ executer: 'other' }, KEYS.admin);
    const b = await submit({ queue: 'big' }, KEYS.admin);
    const c = await submit({}, KEYS.admin);
    await api.app.inject({ method: 'POST', url: `/v1/tasks/${c}/cancel`, headers: auth(KEYS.admin) });
    const all = (await get('/v1/tasks', KEYS.admin)).json<{ items: Array<{ id: string; queue: string }> }>();
    expect(all.items.map((t) => t.id)).toEqual([c, b, a]);
    expect(all.items.map((t) => t.queue)).toEqual(['default', 'big', 'default']);
    const queued = (await get('/v1/tasks?status=queued', KEYS.admin)).json<{
      items: Array<{ id: string }>;
    }>();
    expect(queued.items.map((t) => t.id)).toEqual([b, a]);
    const several = (await get('/v1/tasks?status=cancelled,queued&executer=other', KEYS.admin)).json();
    expect(several.items.map((t: { id: string }) => t.id)).toEqual([a]);
    const big = (await get('/v1/tasks?queue=big', KEYS.admin)).json();
    expect(big.items.map((t: { id: string }) => t.id)).toEqual([b]);
  });

  it('refuses an unknown status and a forged cursor', async () => {
    expect((await get('/v1/tasks?status=sleeping')).json().error.code).toBe('VALIDATION_FAILED');
    expect((await get('/v1/tasks?limit=0')).json().error.code).toBe('VALIDATION_FAILED');
    expect((await get('/v1/tasks?cursor=bm90LWEtY3Vyc29y')).json().error.code).toBe('INVALID_CURSOR');
  });
});

describe('POST /v1/tasks/:id/cancel', () => {
  // A queue of its own, so the tracker takes exactly these tests' tasks.
  let queued: FakeTracker;
  beforeAll(async () => {
    queued = new FakeTracker(api.redis, queueKeys(api.prefix, 'cancels'), api.store);
    await queued.register();
  });

  async function cancel(id: string, key: string = KEYS.alice) {
    return api.app.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: auth(key) });
  }

  it('ends a queued task at once, again is fine, a finished one is a 409', async () => {
    const id = await submit({ queue: 'cancels' });
    expect((await cancel(id, KEYS.bob)).statusCode).toBe(404);
    const res = await cancel(id);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id, status: 'cancelled', cancelRequested: false });
    expect((await get(`/v1/tasks/${id}`)).json().status).toBe('cancelled');
    expect((await cancel(id)).statusCode).toBe(200);
    const done = await submit({ queue: 'cancels' });
    const claim = await queued.take();
    expect(claim.taskId).toBe(done);
    await queued.finish(claim, 'succeeded');
    const late = await cancel(done);
    expect(late.statusCode).toBe(409);
    expect(late.json().error).toMatchObject({ code: 'TASK_FINISHED', details: { status: 'succeeded' } });
  });

  it('asks the tracker of a running task to stop it (202)', async () => {
    const id = await submit({ queue: 'cancels' });
    const claim = await queued.take();
    expect(claim.taskId).toBe(id);
    const res = await cancel(id);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ id, status: 'running', cancelRequested: true });
    const control = await api.redis.xrange(queued.keys.trackerControl('fake-tracker'), '-', '+');
    expect(control.some(([, fields]) => fields.includes(id))).toBe(true);
    await queued.finish(claim, 'cancelled');
  });
});
