// GET /v1/tasks?from=&to= without archived=true: the tasks in Redis created in that range (either
// end may be left out; a date alone as `to` is its whole day), read from the index by creation
// time, with cursor paging inside the range and across queues.
import { afterEach, describe, expect, it } from 'vitest';
import { queueKeys } from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, submitProbe, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';

const redis = useRedis();
const temp = useTempDirs();
const apis: TestApi[] = [];
afterEach(async () => {
  await Promise.all(apis.splice(0).map((api) => api.close()));
});

describe('GET /v1/tasks: a creation-time range', () => {
  it('lists the tasks created from and to the times given, newest first, page by page', async () => {
    let clock = Date.parse('2026-12-01T10:00:00Z');
    const api = await startTestApi(redis.server, temp, { now: () => clock });
    apis.push(api);
    await new FakeTracker(api.redis, api.keys, api.store).register();
    await new FakeTracker(api.redis, queueKeys(api.prefix, 'other'), api.store).register();
    const ids: string[] = [];
    for (const hour of [10, 11, 12, 13]) {
      clock = Date.parse(`2026-12-01T${hour}:00:00Z`);
      ids.push(await submitProbe(api.app, KEYS.alice, hour === 12 ? { queue: 'other' } : {}));
    }
    clock = Date.parse('2026-12-02T09:00:00Z');
    const late = await submitProbe(api.app, KEYS.alice);
    const [at10, at11, at12, at13] = ids;
    const list = async (query: string) => {
      const res = await api.app.inject({ url: `/v1/tasks?${query}`, headers: auth(KEYS.alice) });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<{ items: Array<{ id: string }>; nextCursor: string | null }>();
    };
    const listed = async (query: string) => (await list(query)).items.map((t) => t.id);
    expect(await listed('from=2026-12-01T11:00:00Z')).toEqual([late, at13, at12, at11]);
    expect(await listed('to=2026-12-01T11:59:59Z')).toEqual([at11, at10]);
    expect(await listed('from=2026-12-01T11:00:00Z&to=2026-12-01T12:00:00Z')).toEqual([at12, at11]);
    expect(await listed('from=2026-12-01&to=2026-12-01')).toEqual([at13, at12, at11, at10]);
    expect(await listed(`from=${Date.parse('2026-12-02T00:00:00Z')}`)).toEqual([late]);
    // Paging stays inside the range.
    const first = await list('from=2026-12-01&to=2026-12-01&limit=3');
    expect(first.items.map((t) => t.id)).toEqual([at13, at12, at11]);
    const second = await list(`from=2026-12-01&to=2026-12-01&limit=3&cursor=${first.nextCursor}`);
    expect([second.items.map((t) => t.id), second.nextCursor]).toEqual([[at10], null]);
  });
});
