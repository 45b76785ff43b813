// The wait reasons Reservation and Preemption and the view's expectedStartAt, through
// GET /v1/tasks/:id against real Redis. The queue's reservation and preemptions hashes are written
// here the way core's take.lua (`reserve`) and preempt.lua write them (the scripts themselves are
// tested in core): the first in line with its reservation (a known time, and the unknown 9e15), a
// reservation of another task, a live and a stale preemption entry, one of a task not first in
// line, and a task that was taken while the reservation still names it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTaskId, queueKeys, type QueueKeys } from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, submitProbe, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';

describe('Reservation, Preemption and expectedStartAt in GET /v1/tasks/:id', () => {
  const redis = useRedis();
  const temp = useTempDirs();
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi(redis.server, temp);
  });
  afterAll(() => api.close());

  /** A queue of its own with a registered fake tracker and two waiting tasks, first and second. */
  async function line(queue: string): Promise<{ keys: QueueKeys; tracker: FakeTracker; ids: string[] }> {
    const keys = queueKeys(api.prefix, queue);
    const tracker = new FakeTracker(api.redis, keys, api.store);
    await tracker.register();
    const ids = [
      await submitProbe(api.app, KEYS.alice, { queue }),
      await submitProbe(api.app, KEYS.alice, { queue }),
    ];
    return { keys, tracker, ids };
  }

  /** As take.lua's `reserve` writes it (`at` formatted '%.0f'). */
  async function reserve(keys: QueueKeys, task: string, at: number): Promise<void> {
    await api.redis.hset(keys.reservation, { task, tracker: 'gpu-a', at: at.toFixed(0), gpus: '0' });
  }

  async function view(id: string) {
    const res = await api.app.inject({ url: `/v1/tasks/${id}`, headers: auth(KEYS.alice) });
    expect(res.statusCode, res.body).toBe(200);
    const { status, queuePosition, waitReason, expectedStartAt } = res.json<{
      status: string;
      queuePosition: number | null;
      waitReason: string | null;
      expectedStartAt: number | null;
    }>();
    return { status, queuePosition, waitReason, expectedStartAt };
  }

  it('Reservation with its time when the reservation is the first in line’s; Resources when another’s', async () => {
    const { keys, ids } = await line('reserved');
    const [first = '', second = ''] = ids;
    expect(await view(first)).toEqual({
      status: 'queued',
      queuePosition: 0,
      waitReason: 'Resources',
      expectedStartAt: null,
    });
    const at = Date.now() + 3_600_000;
    await reserve(keys, first, at);
    expect(await view(first)).toEqual({
      status: 'queued',
      queuePosition: 0,
      waitReason: 'Reservation',
      expectedStartAt: at,
    });
    expect(await view(second)).toMatchObject({
      queuePosition: 1,
      waitReason: 'Priority',
      expectedStartAt: null,
    });
    // The holder could not tell when its GPUs free: reserved, no time.
    await reserve(keys, first, 9e15);
    expect(await view(first)).toMatchObject({ waitReason: 'Reservation', expectedStartAt: null });
    // The reservation of another task (one taken since, say) says nothing about this one.
    await reserve(keys, newTaskId(Date.now()), at);
    expect(await view(first)).toMatchObject({ waitReason: 'Resources', expectedStartAt: null });
  });

  it('Preemption while a live entry lasts for the first in line; a stale one is none', async () => {
    const { keys, ids } = await line('preempt');
    const [first = '', second = ''] = ids;
    const graceEnd = Date.now() + 30_000;
    // As preempt.lua: the entry, and the reservation taken until the victims' grace ends.
    await api.redis.hset(keys.preemptions, first, `gpu-a,${graceEnd + 5_000}`);
    await reserve(keys, first, graceEnd);
    expect(await view(first)).toEqual({
      status: 'queued',
      queuePosition: 0,
      waitReason: 'Preemption',
      expectedStartAt: graceEnd,
    });
    // Its until passed (not yet cleaned by the next preemption): the reservation decides.
    await api.redis.hset(keys.preemptions, first, `gpu-a,${Date.now() - 1_000}`);
    expect(await view(first)).toMatchObject({ waitReason: 'Reservation', expectedStartAt: graceEnd });
    await api.redis.del(keys.reservation);
    expect(await view(first)).toMatchObject({ waitReason: 'Resources', expectedStartAt: null });
    // A live entry without a reservation (the reservation expired first): Preemption, no time.
    await api.redis.hset(keys.preemptions, first, `gpu-a,${Date.now() + 60_000}`);
    expect(await view(first)).toMatchObject({ waitReason: 'Preemption', expectedStartAt: null });
    // A task not first in line keeps its standing's reason.
    await api.redis.hset(keys.preemptions, second, `gpu-a,${Date.now() + 60_000}`);
    expect(await view(second)).toMatchObject({ queuePosition: 1, waitReason: 'Priority' });
  });

  it('no reason and no expected start once the reserved task runs', async () => {
    const { keys, tracker, ids } = await line('taken');
    const [first = ''] = ids;
    const at = Date.now() + 60_000;
    await reserve(keys, first, at);
    await api.redis.hset(keys.preemptions, first, `gpu-a,${at}`);
    expect(await view(first)).toMatchObject({ waitReason: 'Preemption', expectedStartAt: at });
    const claim = await tracker.take(0);
    expect(claim.taskId).toBe(first);
    expect(await view(first)).toEqual({
      status: 'running',
      queuePosition: null,
      waitReason: null,
      expectedStartAt: null,
    });
  });
});
