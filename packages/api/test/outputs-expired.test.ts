// Outputs deleted by the outputs retention: a task finished with outputs (FakeTracker, core's
// protocol) is archived by the retention sweep with an outputs retention set, then sweepOutputs
// deletes its outputs. GET /v1/tasks/:id says when (`outputsDeletedAt`), and the outputs routes
// answer 410 OUTPUTS_EXPIRED naming it, not a 404 that would read as a task without outputs.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FINAL_STATUSES, sweepFinished, sweepOutputs, type RetentionPolicy } from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { finishedTask } from './helpers/fake-tracker.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi(redis.server, temp);
});
afterAll(() => api.close());

const get = (url: string) => api.app.inject({ url, headers: auth(KEYS.alice) });

it('answers 410 OUTPUTS_EXPIRED for a task whose outputs the outputs retention deleted', async () => {
  const id = await finishedTask(api, { 'result.txt': 'the result' });
  expect((await get(`/v1/tasks/${id}/outputs/result.txt`)).body).toBe('the result');
  const policy: RetentionPolicy = {
    byStatus: Object.fromEntries(FINAL_STATUSES.map((s) => [s, 0])),
    tenants: {},
    outputsMs: 1000,
  };
  const now = Date.now() + 5000;
  const options = { redis: api.redis, keys: api.keys, store: api.store, policy, now };
  expect(await sweepFinished(options)).toMatchObject({ removed: 1 });
  // Archived, outputs kept until sweepOutputs runs.
  expect((await get(`/v1/tasks/${id}`)).json()).toMatchObject({ archived: true, outputsDeletedAt: null });
  expect((await get(`/v1/tasks/${id}/outputs/result.txt`)).statusCode).toBe(200);
  expect(await sweepOutputs(options)).toBe(1);
  const at = new Date(now).toISOString();
  expect((await get(`/v1/tasks/${id}`)).json()).toMatchObject({ archived: true, outputsDeletedAt: at });
  for (const url of [`/v1/tasks/${id}/outputs`, `/v1/tasks/${id}/outputs/result.txt`]) {
    const res = await get(url);
    expect(res.statusCode, url).toBe(410);
    expect(res.json().error).toMatchObject({ code: 'OUTPUTS_EXPIRED', details: { outputsDeletedAt: at } });
  }
});
