// Redis down: with redis-server stopped, requests answer 503 REDIS_UNAVAILABLE with Retry-After
// within a second instead of hanging, a multipart upload is refused before its body is read,
// nothing is half-written, health and metrics still answer, and the API recovers on its own
// when Redis is back. A hung Redis (SIGSTOP) is cut off by the command timeout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';
import { multipartBody } from './helpers/multipart.js';

const redis = useRedis({ appendOnly: true, appendFsync: 'always' });
const temp = useTempDirs();
let api: TestApi;
let existing: string;

beforeAll(async () => {
  api = await startTestApi(redis.server, temp);
  await new FakeTracker(api.redis, api.keys, api.store).register();
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/tasks',
    headers: auth(KEYS.alice),
    payload: { executer: 'probe' },
  });
  existing = res.json<{ id: string }>().id;
});
afterAll(() => api.close());

async function timed<T>(op: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await op();
  return { value, ms: performance.now() - started };
}

const post = () =>
  api.app.inject({
    method: 'POST',
    url: '/v1/tasks',
    headers: auth(KEYS.alice),
    payload: { executer: 'probe' },
  });

describe('with Redis stopped', () => {
  beforeAll(async () => {
    await redis.server.kill('SIGKILL');
  });

  it('answers POST /v1/tasks with 503 and Retry-After in under a second', async () => {
    const { value: res, ms } = await timed(post);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json().error.code).toBe('REDIS_UNAVAILABLE');
    expect(ms).toBeLessThan(1000);
  });

  it('refuses a multipart upload before reading it and stores nothing', async () => {
    const body = await multipartBody({ executer: 'probe' }, { 'input.bin': Buffer.alloc(50_000, 1) });
    const { value: res, ms } = await timed(() =>
      api.app.inject({
        method: 'POST',
        url: '/v1/tasks',
        headers: { ...auth(KEYS.alice), ...body.headers },
        payload: body.payload,
      }),
    );
    expect(res.statusCode).toBe(503);
    expect(ms).toBeLessThan(1000);
    const stored: string[] = [];
    for await (const info of api.store.list('alice')) stored.push(info.key);
    expect(stored).toEqual([]);
  });

  it('answers reads, follows and readiness with 503 too; health and metrics still answer', async () => {
    for (const url of [
      `/v1/tasks/${existing}`,
      '/v1/tasks',
      `/v1/tasks/${existing}/events`,
      '/v1/queues',
      '/readyz',
    ]) {
      const { value: res, ms } = await timed(() => api.app.inject({ url, headers: auth(KEYS.alice) }));
      expect(res.statusCode, url).toBe(503);
      expect(ms, url).toBeLessThan(1000);
    }
    expect((await api.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    const metrics = await api.app.inject({ url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/^gpufleet_api_redis_up 0$/m);
  });

  it('recovers when Redis is back, with nothing half-written meanwhile', async () => {
    await redis.server.restart();
    await waitFor(async () => (await api.app.inject({ url: '/readyz' })).statusCode === 200, {
      timeoutMs: 10_000,
    });
    expect(await api.redis.zrange(api.keys.index, 0, -1)).toEqual([existing]);
    expect(await api.redis.xlen(api.keys.tasks(0))).toBe(1);
    expect((await post()).statusCode).toBe(201);
  });
});

describe('with Redis hung', () => {
  it('answers 503 once the command timeout passes, not later', async () => {
    process.kill(redis.server.pid, 'SIGSTOP');
    try {
      const { value: res, ms } = await timed(() =>
        api.app.inject({ url: `/v1/tasks/${existing}`, headers: auth(KEYS.alice) }),
      );
      expect(res.statusCode).toBe(503);
      expect(ms).toBeLessThan(1500);
    } finally {
      process.kill(redis.server.pid, 'SIGCONT');
    }
    await waitFor(async () => (await api.app.inject({ url: '/readyz' })).statusCode === 200, {
      timeoutMs: 10_000,
    });
  });
});
