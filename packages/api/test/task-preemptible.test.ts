// Preemptible tasks through the API: POST /v1/tasks takes `preemptible` (true, false or absent;
// JSON and multipart) into the record, and refuses any other value with 400 VALIDATION_FAILED
// naming the field, writing nothing; the task's view and its list item show `preemptible`,
// `preemptions` and `preemptedBy`, the last two as the tracker's preemption (core's preempt.lua)
// writes them into the running task's hash, which this test does itself (the tracker's part is
// tested with the tracker).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTaskId } from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, submitProbe, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';
import { multipartBody } from './helpers/multipart.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;
let tracker: FakeTracker;

interface Preemption {
  preemptible: boolean;
  preemptions: number;
  preemptedBy: string | null;
}

beforeAll(async () => {
  api = await startTestApi(redis.server, temp);
  tracker = new FakeTracker(api.redis, api.keys, api.store);
  await tracker.register();
});
afterAll(() => api.close());

async function view(id: string): Promise<Preemption & { status: string }> {
  const res = await api.app.inject({ url: `/v1/tasks/${id}`, headers: auth(KEYS.alice) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function listed(id: string): Promise<Preemption | undefined> {
  const res = await api.app.inject({ url: '/v1/tasks?limit=200', headers: auth(KEYS.alice) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ items: Array<Preemption & { id: string }> }>().items.find((t) => t.id === id);
}

const preemption = ({ preemptible, preemptions, preemptedBy }: Preemption): Preemption => ({
  preemptible,
  preemptions,
  preemptedBy,
});

describe('submitting a preemptible task', () => {
  it('stores `preemptible: true` and shows it in the view and the list; false and absent are not preemptible', async () => {
    const yes = await submitProbe(api.app, KEYS.alice, { preemptible: true });
    const no = await submitProbe(api.app, KEYS.alice, { preemptible: false });
    const absent = await submitProbe(api.app, KEYS.alice);
    // The field trackers read (preempt.lua refuses a victim whose field is not '1').
    expect(await api.redis.hget(api.keys.task(yes), 'preemptible')).toBe('1');
    for (const id of [no, absent])
      expect(await api.redis.hget(api.keys.task(id), 'preemptible')).not.toBe('1');
    const never = { preemptions: 0, preemptedBy: null };
    expect(preemption(await view(yes))).toEqual({ preemptible: true, ...never });
    expect(preemption(await view(no))).toEqual({ preemptible: false, ...never });
    expect(preemption(await view(absent))).toEqual({ preemptible: false, ...never });
    expect(await listed(yes)).toMatchObject({ preemptible: true, ...never });
    expect(await listed(no)).toMatchObject({ preemptible: false, ...never });
  });

  it('takes `preemptible` from a multipart spec too', async () => {
    const body = await multipartBody({ executer: 'probe', preemptible: true }, { 'a.txt': 'a' });
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/tasks',
      headers: { ...auth(KEYS.alice), ...body.headers },
      payload: body.payload,
    });
    expect(res.statusCode, res.body).toBe(201);
    expect((await view(res.json<{ id: string }>().id)).preemptible).toBe(true);
  });

  it.each([['yes'], ['true'], [1], [0], [null], [{}]])(
    'refuses `preemptible: %j` with 400 VALIDATION_FAILED naming the field, and writes nothing',
    async (value) => {
      const before = await api.redis.zcard(api.keys.index);
      const res = await api.app.inject({
        method: 'POST',
        url: '/v1/tasks',
        headers: auth(KEYS.alice),
        payload: { executer: 'probe', preemptible: value },
      });
      expect(res.statusCode, res.body).toBe(400);
      const error = res.json<{ error: { code: string; details: { issues: Array<{ field: string }> } } }>()
        .error;
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.details.issues.map((i) => i.field)).toEqual(['preemptible']);
      expect(await api.redis.zcard(api.keys.index)).toBe(before);
    },
  );
});

describe('a preempted task’s view', () => {
  it('shows how many times it was preempted and by which task last, in the view and the list', async () => {
    const id = await submitProbe(api.app, KEYS.alice, { preemptible: true });
    let claim = await tracker.take();
    while (claim.taskId !== id) claim = await tracker.take();
    expect(preemption(await view(id))).toEqual({ preemptible: true, preemptions: 0, preemptedBy: null });
    // As preempt.lua writes each victim: the first task in line, and one more preemption.
    const preempt = async (by: string): Promise<void> => {
      await api.redis.hset(api.keys.task(id), 'preemptedBy', by);
      await api.redis.hincrby(api.keys.task(id), 'preemptions', 1);
    };
    const first = newTaskId(Date.now());
    await preempt(first);
    expect(await view(id)).toMatchObject({ status: 'running', preemptions: 1, preemptedBy: first });
    const second = newTaskId(Date.now() + 1);
    await preempt(second);
    expect(preemption(await view(id))).toEqual({ preemptible: true, preemptions: 2, preemptedBy: second });
    expect(await listed(id)).toMatchObject({ preemptible: true, preemptions: 2, preemptedBy: second });
  });
});
