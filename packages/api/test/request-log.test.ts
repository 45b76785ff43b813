// Request logs: one pino line per request with the request id (as sent back in X-Request-Id, or
// the caller's own), method, path without its query string, route, tenant, task and status.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { auth, jsonLineSink, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';

const redis = useRedis();
const temp = useTempDirs();
const lines: Array<Record<string, unknown>> = [];
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi(redis.server, temp, { logger: pino({ level: 'info' }, jsonLineSink(lines)) });
  await new FakeTracker(api.redis, api.keys, api.store).register();
});
afterAll(() => api.close());

it('writes one line per request with its id, tenant, task and status, never the query string', async () => {
  const created = await api.app.inject({
    method: 'POST',
    url: '/v1/tasks',
    headers: { ...auth(KEYS.alice), 'x-request-id': 'client-chosen-id-1' },
    payload: { executer: 'probe' },
  });
  expect(created.headers['x-request-id']).toBe('client-chosen-id-1');
  const id = created.json<{ id: string }>().id;
  const read = await api.app.inject({
    url: `/v1/tasks/${id}?note=secret-in-query`,
    headers: auth(KEYS.alice),
  });
  const madeUp = await api.app.inject({ url: '/healthz', headers: { 'x-request-id': 'bad id with spaces' } });
  const completed = lines.filter((l) => l.msg === 'request completed');
  expect(completed).toHaveLength(3);
  expect(completed[0]).toMatchObject({
    reqId: 'client-chosen-id-1',
    method: 'POST',
    path: '/v1/tasks',
    route: '/v1/tasks',
    tenant: 'alice',
    key: 'alice',
    taskId: id,
    status: 201,
  });
  expect(completed[1]).toMatchObject({
    reqId: read.headers['x-request-id'],
    path: `/v1/tasks/${id}`,
    route: '/v1/tasks/:id',
    taskId: id,
    status: 200,
  });
  expect(completed[2]?.reqId).toBe(madeUp.headers['x-request-id']);
  expect(completed[2]?.reqId).not.toBe('bad id with spaces');
  expect(JSON.stringify(lines)).not.toContain('secret-in-query');
  expect(JSON.stringify(lines)).not.toContain(KEYS.alice);
});
