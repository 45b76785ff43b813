// POST /v1/trackers/:name/drain and /undrain against a real Redis, with a tracker played by the test
// (its registry entry, GPUs 0 and 1): a user key gets 403, an unknown tracker a 404 naming it, a GPU
// the tracker does not have, a reason too long or with a newline, an unknown field a 400 naming the
// field, and none of them writes anything; a drain is stored in the queue's drains hash with who and
// when, the tracker is told on its control stream, and the answer is the tracker's drains; undrain
// takes one back (the other stays); a tracker that left the registry can still be undrained, not
// drained; trackers of one name in two queues need `?queue=`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRAIN_REASON_MAX, queueKeys, type TrackerInfo } from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, type TestApi } from './helpers/api.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;

interface Drain {
  reason: string;
  at: string;
  by: string;
}
interface DrainState {
  name: string;
  queue: string;
  live: boolean;
  drained: Drain | null;
  gpus: Array<{ id: number; drained: Drain | null }>;
}
interface ErrorAnswer {
  error: { code: string; message: string; details: { issues?: Array<{ field: string; reason: string }> } };
}

/** Registers tracker `name` in `queue` with GPUs 0 and 1, heartbeat now. */
async function register(name: string, queue = 'default', on: TestApi = api): Promise<void> {
  const info: TrackerInfo = {
    name,
    instance: 'i1',
    host: 'test-host',
    pid: 1,
    pidStartTime: null,
    gpus: [0, 1],
    cpuSlots: 0,
    executers: ['probe'],
    running: {},
    startedAt: Date.now() - 1000,
    heartbeatAt: Date.now(),
    heartbeatMs: 60_000,
  };
  await on.redis.hset(queueKeys(on.prefix, queue).trackers, name, JSON.stringify(info));
}

const post = (
  name: string,
  action: 'drain' | 'undrain',
  body: unknown,
  key: string = KEYS.admin,
  query = '',
  on: TestApi = api,
) =>
  on.app.inject({
    method: 'POST',
    url: `/v1/trackers/${name}/${action}${query}`,
    headers: auth(key),
    payload: body as Record<string, unknown>,
  });

/** The control stream's messages to `name`, as field maps. */
async function control(name: string, queue = 'default'): Promise<Array<Record<string, string>>> {
  const entries = await api.redis.xrange(queueKeys(api.prefix, queue).trackerControl(name), '-', '+');
  return entries.map(([, fields]) => {
    const map: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) map[fields[i] ?? ''] = fields[i + 1] ?? '';
    return map;
  });
}

function expectIssue(res: { statusCode: number; body: string }, field: string, reason?: RegExp): void {
  expect(res.statusCode, res.body).toBe(400);
  const { error } = JSON.parse(res.body) as ErrorAnswer;
  expect(error.code).toBe('VALIDATION_FAILED');
  const issue = error.details.issues?.find((i) => i.field === field);
  expect(issue, res.body).toBeDefined();
  if (reason) expect(issue?.reason).toMatch(reason);
}

beforeAll(async () => {
  api = await startTestApi(redis.server, temp);
  await register('gpu-host');
});
afterAll(() => api.close());

describe('POST /v1/trackers/:name/drain and /undrain', () => {
  it('refuses a user key, an unknown tracker and bad fields, and writes nothing', async () => {
    for (const action of ['drain', 'undrain'] as const) {
      const user = await post('gpu-host', action, {}, KEYS.alice);
      expect(user.statusCode).toBe(403);
      expect(user.json<ErrorAnswer>().error.code).toBe('FORBIDDEN');
      const unknown = await post('no-such-host', action, {});
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json<ErrorAnswer>().error).toMatchObject({ code: 'NOT_FOUND' });
      expect(unknown.json<ErrorAnswer>().error.message).toContain('no-such-host');
      expectIssue(await post('gpu-host', action, { gpu: 7 }), 'gpu', /has no GPU 7 \(its GPUs: 0, 1\)/);
      expectIssue(await post('gpu-host', action, { gpu: -1 }), 'gpu');
      expectIssue(await post('gpu-host', action, { gpu: 'one' }), 'gpu');
      expectIssue(await post('gpu-host', action, { gpus: 1 }), 'gpus');
    }
    expectIssue(await post('gpu-host', 'drain', { reason: 'x'.repeat(DRAIN_REASON_MAX + 1) }), 'reason');
    expectIssue(await post('gpu-host', 'drain', { reason: 'two\nlines' }), 'reason', /control characters/);
    expectIssue(await post('gpu-host', 'drain', { reason: '' }), 'reason');
    expectIssue(await post('gpu-host', 'drain', {}, KEYS.admin, '?queue=no%20such'), 'query.queue');
    expect(await api.redis.hlen(api.keys.drains)).toBe(0);
    expect(await control('gpu-host')).toEqual([]);
  });

  it('stores a drain, tells the tracker, and answers the tracker’s drains', async () => {
    const before = Date.now();
    const res = await post('gpu-host', 'drain', { gpu: 1, reason: 'fan noise' });
    expect(res.statusCode, res.body).toBe(200);
    const state = res.json<DrainState>();
    expect(state).toMatchObject({
      name: 'gpu-host',
      queue: 'default',
      live: true,
      drained: null,
      gpus: [
        { id: 0, drained: null },
        { id: 1, drained: { reason: 'fan noise', by: 'ops' } },
      ],
    });
    expect(Date.parse(state.gpus[1]?.drained?.at ?? '')).toBeGreaterThanOrEqual(before - 1);
    expect(JSON.parse((await api.redis.hget(api.keys.drains, 'gpu-host#1')) ?? '{}')).toMatchObject({
      reason: 'fan noise',
      by: 'ops',
    });
    // The whole tracker, with the default reason; then both are in force.
    const whole = (await post('gpu-host', 'drain', {})).json<DrainState>();
    expect(whole.drained).toMatchObject({ reason: 'drained by an operator', by: 'ops' });
    expect(whole.gpus[1]?.drained?.reason).toBe('fan noise');
    expect(await control('gpu-host')).toEqual([{ cmd: 'drain', gpu: '1' }, { cmd: 'drain' }]);

    // Undrained: the tracker's drain goes, GPU 1's stays until it is undrained itself.
    const undrained = (await post('gpu-host', 'undrain', {})).json<DrainState>();
    expect(undrained.drained).toBeNull();
    expect(undrained.gpus.map((g) => g.drained?.reason ?? null)).toEqual([null, 'fan noise']);
    const gpuBack = (await post('gpu-host', 'undrain', { gpu: 1 })).json<DrainState>();
    expect(gpuBack.gpus.map((g) => g.drained)).toEqual([null, null]);
    expect(await api.redis.hlen(api.keys.drains)).toBe(0);
    expect((await control('gpu-host')).slice(2)).toEqual([{ cmd: 'undrain' }, { cmd: 'undrain', gpu: '1' }]);
  });

  it('undrains a tracker that left the registry while drains are left, and drains it no more', async () => {
    await register('leaving');
    expect((await post('leaving', 'drain', { gpu: 0 })).statusCode).toBe(200);
    await api.redis.hdel(api.keys.trackers, 'leaving');
    expect((await post('leaving', 'drain', {})).statusCode).toBe(404);
    const res = await post('leaving', 'undrain', { gpu: 0 });
    expect(res.statusCode, res.body).toBe(200);
    // It left: the GPUs listed are those still drained, none now.
    expect(res.json<DrainState>()).toMatchObject({ name: 'leaving', live: false, drained: null, gpus: [] });
    expect(await api.redis.hlen(api.keys.drains)).toBe(0);
    expect((await post('leaving', 'undrain', {})).statusCode).toBe(404);
  });

  it('needs ?queue= when trackers of that name serve several queues', async () => {
    // An API of its own: the fleet's queues are found (and cached) when it first looks.
    const fleet = await startTestApi(redis.server, temp);
    try {
      await register('twin', 'default', fleet);
      await register('twin', 'render', fleet);
      expectIssue(await post('twin', 'drain', {}, KEYS.admin, '', fleet), 'query.queue', /default, render/);
      const res = await post('twin', 'drain', { reason: 'render only' }, KEYS.admin, '?queue=render', fleet);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<DrainState>()).toMatchObject({ queue: 'render', drained: { reason: 'render only' } });
      expect(await fleet.redis.hexists(queueKeys(fleet.prefix, 'render').drains, 'twin')).toBe(1);
      expect(await fleet.redis.hexists(fleet.keys.drains, 'twin')).toBe(0);
      // A queue created after the API last looked is found too (scanned afresh when no queue has it).
      await register('newcomer', 'batch', fleet);
      const late = await post('newcomer', 'drain', {}, KEYS.admin, '', fleet);
      expect(late.statusCode, late.body).toBe(200);
      expect(late.json<DrainState>().queue).toBe('batch');
    } finally {
      await fleet.close();
    }
  });
});
