// GET /metrics: tasks by status (counted from the events stream), wait and run time histograms,
// the queue gauges read at scrape time (with the Redis memory the queue holds), and API latency
// by route template.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FINAL_STATUSES, sweepFinished, type RetentionPolicy } from '@gpufleet/core';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;
let tracker: FakeTracker;

beforeAll(async () => {
  api = await startTestApi(redis.server, temp, { followTaskMetrics: true });
  tracker = new FakeTracker(api.redis, api.keys, api.store);
  await tracker.register();
});
afterAll(() => api.close());

async function scrape(): Promise<string> {
  const res = await api.app.inject({ url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  return res.body;
}

function value(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
}

it('counts tasks by status, times their wait and run, and gauges the queue', async () => {
  const submit = () =>
    api.app.inject({
      method: 'POST',
      url: '/v1/tasks',
      headers: auth(KEYS.alice),
      payload: { executer: 'probe' },
    });
  await submit();
  await submit();
  const claim = await tracker.take();
  await tracker.finish(claim, 'succeeded');

  const text = await waitFor(async () => {
    const body = await scrape();
    return value(body, 'gpufleet_task_run_seconds_count{queue="default",status="succeeded"}') === 1 && body;
  });
  expect(value(text, 'gpufleet_tasks_total{queue="default",status="queued"}')).toBe(2);
  expect(value(text, 'gpufleet_tasks_total{queue="default",status="running"}')).toBe(1);
  expect(value(text, 'gpufleet_tasks_total{queue="default",status="succeeded"}')).toBe(1);
  expect(value(text, 'gpufleet_task_wait_seconds_count{queue="default"}')).toBe(1);
  expect(value(text, 'gpufleet_queue_depth{queue="default"}')).toBe(1);
  expect(value(text, 'gpufleet_queue_running{queue="default"}')).toBe(0);
  expect(value(text, 'gpufleet_queue_dead{queue="default"}')).toBe(0);
  expect(value(text, 'gpufleet_queue_oldest_wait_seconds{queue="default"}')).toBeGreaterThanOrEqual(0);
  expect(value(text, 'gpufleet_api_redis_up')).toBe(1);
  expect(value(text, 'gpufleet_tenant_waiting_tasks{queue="default",tenant="alice"}')).toBe(1);
  expect(value(text, 'gpufleet_tenant_running_tasks{queue="default",tenant="alice"}')).toBe(0);
  expect(
    value(
      text,
      'gpufleet_api_request_duration_seconds_count{method="POST",route="/v1/tasks",status_code="201"}',
    ),
  ).toBe(2);
});

it('gauges each tenant’s waiting and running tasks and GPUs from the tenant accounts', async () => {
  const claim = await tracker.take(); // the task the first test left waiting
  const text = await waitFor(async () => {
    const body = await scrape();
    return value(body, 'gpufleet_tenant_running_tasks{queue="default",tenant="alice"}') === 1 && body;
  });
  expect(value(text, 'gpufleet_tenant_waiting_tasks{queue="default",tenant="alice"}')).toBe(0);
  expect(value(text, 'gpufleet_tenant_running_gpus{queue="default",tenant="alice"}')).toBe(0);
  await tracker.finish(claim, 'succeeded');
});

it('gauges the Redis memory the queue holds: records, bytes per task, archived and their rate', async () => {
  const before = await waitFor(async () => {
    const body = await scrape();
    return value(body, 'gpufleet_queue_task_records{queue="default"}') === 2 && body;
  });
  const perTask = value(before, 'gpufleet_queue_bytes_per_task{queue="default"}') ?? 0;
  expect(perTask).toBeGreaterThan(200); // a record's hash alone holds a few hundred bytes
  expect(value(before, 'gpufleet_queue_redis_bytes{queue="default"}')).toBeGreaterThan(2 * perTask);
  expect(value(before, 'gpufleet_queue_archived_tasks{queue="default"}')).toBe(0);
  // Both finished tasks past a retention of 0: the sweep archives and removes them.
  const byStatus = Object.fromEntries(FINAL_STATUSES.map((s) => [s, 0]));
  const policy: RetentionPolicy = { byStatus, tenants: {} };
  const swept = await sweepFinished({
    redis: api.redis,
    keys: api.keys,
    store: api.store,
    policy,
    now: Date.now() + 1000,
  });
  expect(swept.removed).toBe(2);
  const after = await waitFor(async () => {
    const body = await scrape();
    return value(body, 'gpufleet_queue_archived_tasks{queue="default"}') === 2 && body;
  });
  expect(value(after, 'gpufleet_queue_task_records{queue="default"}')).toBe(0);
  expect(value(after, 'gpufleet_queue_archived_per_minute{queue="default"}')).toBeGreaterThan(0);
});
