// A queue's last hour (GET /v1/queues/:queue/history), against a real Redis with tasks taken and
// ended through the protocol: the minute under way counts the tasks that started and how long they
// waited, those that succeeded and those that did not, and the GPUs held beside the live trackers'
// GPUs; an API started afterwards shows the same counts at once, read back from the events stream;
// a bad queue name is a 400 naming the parameter.
import { afterEach, describe, expect, it } from 'vitest';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import type { HistoryMinute } from '../src/metrics/queue-history.js';
import { auth, KEYS, startTestApi, submitProbe, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';

type QueueHistory = { queue: string; minutes: HistoryMinute[]; gpusSampledSince: number };

const redis = useRedis();
const temp = useTempDirs();
const apis: TestApi[] = [];
afterEach(async () => {
  await Promise.all(apis.splice(0).map((api) => api.close()));
});

async function history(api: TestApi, key: string = KEYS.alice): Promise<QueueHistory> {
  const res = await api.app.inject({ url: '/v1/queues/default/history', headers: auth(key) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<QueueHistory>();
}

const lastMinute = (h: QueueHistory) => h.minutes[h.minutes.length - 1];
/** The hour's counts (the test's tasks may fall on both sides of a minute's end). */
const totals = (h: QueueHistory) => ({
  started: h.minutes.reduce((n, m) => n + m.started, 0),
  succeeded: h.minutes.reduce((n, m) => n + m.succeeded, 0),
  failed: h.minutes.reduce((n, m) => n + m.failed, 0),
});
/** Each minute's starts and waits, for comparing two APIs' hours. */
const startFigures = (h: QueueHistory) =>
  h.minutes
    .filter((m) => m.started > 0)
    .map(({ at, started, waitMeanMs, waitP90Ms }) => ({ at, started, waitMeanMs, waitP90Ms }));

describe('GET /v1/queues/:queue/history', () => {
  it('counts the tasks started, their waits and ends, and the GPUs held; a new API reads the hour back', async () => {
    const api = await startTestApi(redis.server, temp, { followTaskMetrics: true, historySampleMs: 100 });
    apis.push(api);
    const tracker = new FakeTracker(api.redis, api.keys, api.store);
    await tracker.register();
    const ids = [
      await submitProbe(api.app, KEYS.alice),
      await submitProbe(api.app, KEYS.bob),
      await submitProbe(api.app, KEYS.alice, { gpus: 1 }),
    ];
    expect(ids).toHaveLength(3);
    const first = await tracker.take(0);
    const second = await tracker.take(0);
    const gpuTask = await tracker.take(1);
    await tracker.finish(first, 'succeeded');
    await tracker.finish(second, 'failed');
    const h = await waitFor(
      async () => {
        const got = await history(api);
        const t = totals(got);
        return t.started === 3 && t.succeeded === 1 && t.failed === 1 && got;
      },
      { message: 'the hour counts the starts and ends' },
    );
    expect(h.queue).toBe('default');
    expect(h.minutes).toHaveLength(60);
    expect(h.minutes.slice(0, -2).every((x) => x.started === 0 && x.succeeded === 0)).toBe(true);
    const waited = h.minutes.filter((x) => x.started > 0);
    for (const x of waited) expect(x.waitP90Ms).toBeGreaterThanOrEqual(x.waitMeanMs ?? Infinity);
    // A sample (every 100 ms here) sees the GPU task holding 1 of the tracker's 2 GPUs.
    const sampled = await waitFor(async () => {
      const got = lastMinute(await history(api));
      return got && got.gpusBusyMax === 1 && got;
    });
    expect(sampled.gpusTotal).toBe(2);
    expect(sampled.gpusBusyMean).toBeGreaterThan(0);

    // A new API process: nothing followed live yet, the hour is read back from the events stream.
    await tracker.finish(gpuTask, 'succeeded');
    const later = await startTestApi(redis.server, temp, { followTaskMetrics: true, prefix: api.prefix });
    apis.push(later);
    const back = await waitFor(async () => {
      const got = await history(later, KEYS.admin);
      const t = totals(got);
      return t.started === 3 && t.succeeded === 2 && t.failed === 1 && got;
    });
    expect(startFigures(back)).toEqual(startFigures(h));
  });

  it('refuses a bad queue name, naming the parameter', async () => {
    const api = await startTestApi(redis.server, temp);
    apis.push(api);
    const res = await api.app.inject({ url: '/v1/queues/no%20spaces/history', headers: auth(KEYS.alice) });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      error: { code: 'VALIDATION_FAILED', details: { issues: [{ field: 'params.queue' }] } },
    });
  });
});
