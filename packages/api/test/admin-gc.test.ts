// POST /v1/admin/gc against a real Redis and a local artifact store, with the API's own retention
// policy (succeeded 1 hour, failed 10 days): a dry run lists the due tasks and changes nothing; a
// real run archives them (readable by id) and removes them from Redis, while a waiting task and a
// failed task inside its retention stay; `?queue=` sweeps one queue; a user key gets 403; a bad
// `limit` or queue name is a 400 naming the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  completeTask,
  enqueue,
  parseRetention,
  readArchivedTask,
  type RetentionPolicy,
} from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';

const redis = useRedis();
const temp = useTempDirs();
const HOUR = 3_600_000;
const retention: RetentionPolicy = {
  byStatus: parseRetention('succeeded=1h,failed=10d') as RetentionPolicy['byStatus'],
  tenants: {},
};

interface GcAnswer {
  dryRun: boolean;
  queues: Array<{ queue: string; scanned: number; due: number; removed: number; ids: string[] }>;
}

let api: TestApi;
let tracker: FakeTracker;
/** Finished 5 hours ago: past 1 hour (succeeded), inside 10 days (failed). */
const done: string[] = [];
let failed = '';
let waiting = '';

/** A probe task of alice created 10 hours ago (the sweep reads the index up to now minus 1 hour). */
async function submitOld(): Promise<string> {
  const past = Date.now() - 10 * HOUR;
  const deps = { redis: api.redis, prefix: api.prefix, now: () => past };
  return (await enqueue(deps, { executer: 'probe' }, { tenant: 'alice' })).id;
}

/** Takes the next task and ends it `status` 5 hours ago. */
async function finishOld(status: 'succeeded' | 'failed'): Promise<string> {
  const claim = await tracker.take();
  expect(await completeTask(api.redis, api.keys, claim, status, Date.now() - 5 * HOUR, '')).toBe(true);
  return claim.taskId;
}

const gc = (query: string, key: string = KEYS.admin) =>
  api.app.inject({ method: 'POST', url: `/v1/admin/gc${query}`, headers: auth(key) });

beforeAll(async () => {
  api = await startTestApi(redis.server, temp, { retention });
  tracker = new FakeTracker(api.redis, api.keys, api.store);
  await tracker.register();
  for (let i = 0; i < 4; i++) await submitOld();
  done.push(await finishOld('succeeded'), await finishOld('succeeded'));
  failed = await finishOld('failed');
  waiting = (await api.redis.zrange(api.keys.index, 0, -1)).find(
    (id) => !done.includes(id) && id !== failed,
  )!;
});
afterAll(() => api.close());

describe('POST /v1/admin/gc', () => {
  it('refuses a user key, a bad limit and a bad queue name', async () => {
    const user = await gc('?dryRun=true', KEYS.alice);
    expect(user.statusCode).toBe(403);
    expect(user.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    for (const limit of ['0', '100001', 'many']) {
      const res = await gc(`?limit=${limit}`);
      expect(res.statusCode, limit).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
      expect(res.body, limit).toContain('query.limit');
    }
    const badQueue = await gc('?queue=no%20such');
    expect(badQueue.statusCode).toBe(400);
    expect(badQueue.body).toContain('query.queue');
    // Nothing was swept by the refused requests.
    for (const id of done) expect(await api.redis.exists(api.keys.task(id))).toBe(1);
  });

  it('a dry run lists the due tasks and changes nothing', async () => {
    const res = await gc('?dryRun=true');
    expect(res.statusCode, res.body).toBe(200);
    const answer = res.json<GcAnswer>();
    expect(answer.dryRun).toBe(true);
    const mine = answer.queues.find((q) => q.queue === 'default');
    expect(mine).toMatchObject({ scanned: 4, due: 2, removed: 0 });
    expect([...mine!.ids].sort()).toEqual([...done].sort());
    for (const id of done) {
      expect(await api.redis.exists(api.keys.task(id))).toBe(1);
      expect(await readArchivedTask(api.store, id)).toBeNull();
    }
  });

  it('a real run archives the due tasks and removes them; waiting and recent tasks stay', async () => {
    const other = (await gc('?queue=elsewhere')).json<GcAnswer>();
    expect(other.queues).toEqual([{ queue: 'elsewhere', scanned: 0, due: 0, removed: 0, ids: [] }]);
    expect(await api.redis.exists(api.keys.task(done[0]!))).toBe(1);

    const res = await gc('');
    expect(res.statusCode, res.body).toBe(200);
    const answer = res.json<GcAnswer>();
    expect(answer.dryRun).toBe(false);
    const mine = answer.queues.find((q) => q.queue === 'default');
    expect(mine).toMatchObject({ due: 2, removed: 2 });
    for (const id of done) {
      expect(await api.redis.exists(api.keys.task(id))).toBe(0);
      expect(await api.redis.zscore(api.keys.index, id)).toBeNull();
      expect(await readArchivedTask(api.store, id)).toMatchObject({ id, status: 'succeeded' });
    }
    for (const id of [failed, waiting]) {
      expect(await api.redis.exists(api.keys.task(id))).toBe(1);
      expect(await readArchivedTask(api.store, id)).toBeNull();
    }
    expect(await api.redis.hget(api.keys.task(waiting), 'status')).toBe('queued');
    // The archived tasks are still readable through the API.
    const read = await api.app.inject({ url: `/v1/tasks/${done[0]}`, headers: auth(KEYS.alice) });
    expect(read.json()).toMatchObject({ id: done[0], status: 'succeeded' });

    const again = (await gc('')).json<GcAnswer>();
    expect(again.queues.find((q) => q.queue === 'default')).toMatchObject({ due: 0, removed: 0 });
  });
});
