// Why a queued task waits (`waitReason`): every rule of wait-reason.ts and the order they are
// tried in, then through GET /v1/tasks/:id against real Redis state made by the API's enqueue and
// core's protocol calls: a task first in line (Resources), behind a higher priority or an older
// task (Priority), behind a tenant with less fair-share usage (FairShare), past its tenant's
// running-GPU quota (Quota), of a size no tracker can run (Unschedulable), in a retry backoff
// (BeginTime), submitted after a task still running (Dependency); a task that is not queued has no reason. Reservation and Preemption through the
// API are in wait-reservation.test.ts; here their place in the order, and how the reservation and
// preemption hashes' values are read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promoteDelayed, queueKeys, readFairShare, releaseTask } from '@gpufleet/core';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { preemptionLive, reservationOf, TenantPolicy, waitReason, type WaitFacts } from '@gpufleet/api';
import { auth, submitProbe, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';

describe('waitReason', () => {
  const facts: WaitFacts = {
    now: 1_000,
    after: null,
    notBefore: null,
    gpus: 1,
    runningGpus: 0,
    maxRunningGpus: null,
    unschedulable: false,
    standing: { position: 3, higherPriority: 0, fairShare: 0 },
    preempting: false,
    reserved: false,
  };
  const first = { position: 0, higherPriority: 0, fairShare: 0 };
  const reason = (over: Partial<WaitFacts>) => waitReason({ ...facts, ...over });

  it('BeginTime while a retry backoff lasts, and once it passed until the task is back in line', () => {
    expect(reason({ notBefore: 2_000, standing: null })).toBe('BeginTime');
    expect(reason({ notBefore: 500, standing: null })).toBe('BeginTime');
    // Back in line (a stale notBefore): the other rules decide.
    expect(reason({ notBefore: 500 })).toBe('Priority');
    // Before every other rule.
    expect(reason({ notBefore: 2_000, maxRunningGpus: 0, unschedulable: true })).toBe('BeginTime');
  });

  it('Dependency while held for the task it was submitted after, before every other rule', () => {
    expect(reason({ after: 'a', standing: null })).toBe('Dependency');
    expect(reason({ after: 'a', standing: null, maxRunningGpus: 0, unschedulable: true })).toBe('Dependency');
    // In line (released): the other rules decide; a later retry's backoff is BeginTime.
    expect(reason({ after: 'a', standing: first })).toBe('Resources');
    expect(reason({ after: 'a', notBefore: 2_000, standing: null })).toBe('BeginTime');
  });

  it('Quota when the tenant’s running GPUs and this task’s would pass its maxRunningGpus', () => {
    expect(reason({ runningGpus: 3, gpus: 2, maxRunningGpus: 4 })).toBe('Quota');
    expect(reason({ runningGpus: 0, gpus: 1, maxRunningGpus: 0 })).toBe('Quota');
    expect(reason({ runningGpus: 2, gpus: 2, maxRunningGpus: 4, standing: null })).toBe('Resources');
    expect(reason({ runningGpus: 0, gpus: 0, maxRunningGpus: 0, standing: null })).toBe('Resources');
    // As take.lua: a quota lowered below what the tenant holds holds back even a task of no GPU.
    expect(reason({ runningGpus: 9, gpus: 0, maxRunningGpus: 0 })).toBe('Quota');
    expect(reason({ runningGpus: 1, maxRunningGpus: 1, unschedulable: true })).toBe('Quota');
  });

  it('Unschedulable when its size is marked so, before its standing', () => {
    expect(reason({ unschedulable: true, standing: { position: 0, higherPriority: 0, fairShare: 0 } })).toBe(
      'Unschedulable',
    );
  });

  it('from its standing: Resources first in line, then Priority, FairShare, and Priority for older tasks', () => {
    expect(reason({ standing: { position: 0, higherPriority: 0, fairShare: 0 } })).toBe('Resources');
    expect(reason({ standing: null })).toBe('Resources');
    expect(reason({ standing: { position: 5, higherPriority: 1, fairShare: 4 } })).toBe('Priority');
    expect(reason({ standing: { position: 5, higherPriority: 0, fairShare: 4 } })).toBe('FairShare');
    expect(reason({ standing: { position: 5, higherPriority: 0, fairShare: 0 } })).toBe('Priority');
  });

  it('first in line: Preemption, then Reservation, then Resources', () => {
    for (const standing of [first, null]) {
      expect(reason({ standing, preempting: true, reserved: true })).toBe('Preemption');
      expect(reason({ standing, preempting: true })).toBe('Preemption');
      expect(reason({ standing, reserved: true })).toBe('Reservation');
      expect(reason({ standing })).toBe('Resources');
    }
  });

  it('Preemption and Reservation after BeginTime, Quota and Unschedulable; only first in line', () => {
    const both = { preempting: true, reserved: true };
    expect(reason({ ...both, notBefore: 2_000, standing: null })).toBe('BeginTime');
    expect(reason({ ...both, standing: first, runningGpus: 1, maxRunningGpus: 1 })).toBe('Quota');
    expect(reason({ ...both, standing: first, unschedulable: true })).toBe('Unschedulable');
    // Not first in line (the hashes not yet caught up with a task put before it): its standing.
    expect(reason({ ...both, standing: { position: 2, higherPriority: 1, fairShare: 0 } })).toBe('Priority');
    expect(reason({ ...both, standing: { position: 2, higherPriority: 0, fairShare: 1 } })).toBe('FairShare');
  });

  it('reads the reservation hash: its task, and its time unless unknown (9e15 or more)', () => {
    const hash = { task: 'T1', tracker: 'gpu-a', at: '1700000000000', gpus: '4' };
    expect(reservationOf(hash, 'T1')).toEqual({ reserved: true, at: 1_700_000_000_000 });
    expect(reservationOf(hash, 'T2')).toEqual({ reserved: false, at: null });
    expect(reservationOf({}, 'T1')).toEqual({ reserved: false, at: null });
    for (const at of ['9000000000000000', '9000000000000001', '', 'x'])
      expect(reservationOf({ ...hash, at }, 'T1'), at).toEqual({ reserved: true, at: null });
    expect(reservationOf({ ...hash, at: '8999999999999999' }, 'T1').at).toBe(8_999_999_999_999_999);
  });

  it('reads a preemption entry `<tracker>,<until>` as live only before its until', () => {
    expect(preemptionLive('gpu-a,2000', 1_000)).toBe(true);
    expect(preemptionLive('gpu-a,1000', 1_000)).toBe(false);
    expect(preemptionLive('gpu-a,500', 1_000)).toBe(false);
    expect(preemptionLive(null, 1_000)).toBe(false);
    // The tracker is all before the last comma, as preempt.lua reads it.
    expect(preemptionLive('rack,1,gpu-a,2000', 1_000)).toBe(true);
    expect(preemptionLive('gpu-a', 1_000)).toBe(false);
    expect(preemptionLive('gpu-a,soon', 1_000)).toBe(false);
  });
});

describe('waitReason in GET /v1/tasks/:id', () => {
  const redis = useRedis();
  const temp = useTempDirs();
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi(redis.server, temp, {
      tenants: new TenantPolicy({ alice: { maxRunningGpus: 1 } }, { maxWaitingTasks: null }),
    });
  });
  afterAll(() => api.close());

  /** A fake tracker of `queue`, which publishes the `probe` executer there. */
  async function trackerOf(queue: string): Promise<FakeTracker> {
    const tracker = new FakeTracker(api.redis, queueKeys(api.prefix, queue), api.store);
    await tracker.register();
    return tracker;
  }

  async function submit(spec: Record<string, unknown>, key: string = KEYS.alice): Promise<string> {
    return submitProbe(api.app, key, spec);
  }

  async function wait(id: string, key: string = KEYS.alice) {
    const res = await api.app.inject({ url: `/v1/tasks/${id}`, headers: auth(key) });
    expect(res.statusCode, res.body).toBe(200);
    const { status, queuePosition, waitReason, priority, after } = res.json<{
      status: string;
      queuePosition: number | null;
      waitReason: string | null;
      priority: number;
      after: string | null;
    }>();
    return { status, queuePosition, waitReason, priority, after };
  }

  it('Resources first in line; Priority behind a higher priority or an older task of its standing', async () => {
    await trackerOf('line');
    const low = await submit({ queue: 'line', priority: 100 });
    const first = await submit({ queue: 'line' });
    const second = await submit({ queue: 'line' });
    expect(await wait(first)).toEqual({
      status: 'queued',
      queuePosition: 0,
      waitReason: 'Resources',
      priority: 500,
      after: null,
    });
    expect(await wait(second)).toMatchObject({ queuePosition: 1, waitReason: 'Priority' });
    expect(await wait(low)).toMatchObject({ queuePosition: 2, waitReason: 'Priority', priority: 100 });
  });

  it('FairShare behind an equal-priority task of a tenant that used less of the queue', async () => {
    const tracker = await trackerOf('share');
    await submit({ queue: 'share', gpus: 1 }, KEYS.bob);
    const running = await tracker.take(1);
    const keys = queueKeys(api.prefix, 'share');
    // Bob's running GPU adds to his usage from the take on; alice has none.
    await waitFor(async () => ((await readFairShare(api.redis, keys, Date.now())).get('bob')?.rank ?? 0) > 0);
    const bobs = await submit({ queue: 'share' }, KEYS.bob);
    await submit({ queue: 'share' }, KEYS.alice);
    expect(await wait(bobs, KEYS.bob)).toMatchObject({ queuePosition: 1, waitReason: 'FairShare' });
    await tracker.finish(running, 'succeeded');
  });

  it('Quota when the tenant’s running GPUs and the task’s would pass its maxRunningGpus', async () => {
    const tracker = await trackerOf('quota');
    await submit({ queue: 'quota', gpus: 1 });
    const running = await tracker.take(1);
    const held = await submit({ queue: 'quota', gpus: 1 });
    const cpu = await submit({ queue: 'quota', gpus: 0 });
    expect(await wait(held)).toMatchObject({ waitReason: 'Quota', queuePosition: 0 });
    // A task that asks for no GPU is not held by a GPU quota, and take passes over the held one:
    // it is first in line.
    expect(await wait(cpu)).toMatchObject({ waitReason: 'Resources', queuePosition: 0 });
    await tracker.finish(running, 'succeeded');
    expect((await wait(held)).waitReason).toBe('Resources');
  });

  it('Unschedulable once the trackers marked its size as one none of them can run', async () => {
    await trackerOf('big');
    // Accepted only as one that may wait for capacity: none of the queue's trackers has 8 GPUs.
    const id = await submit({ queue: 'big', gpus: 8, waitForCapacity: true }, KEYS.bob);
    expect((await wait(id, KEYS.bob)).waitReason).toBe('Resources');
    await api.redis.set(queueKeys(api.prefix, 'big').unschedulableSince(8), String(Date.now()));
    expect(await wait(id, KEYS.bob)).toMatchObject({ waitReason: 'Unschedulable', queuePosition: 0 });
  });

  it('Dependency for a task submitted after one still running, Resources once that one ended', async () => {
    const tracker = await trackerOf('chain');
    const first = await submit({ queue: 'chain' });
    const claim = await tracker.take(0);
    const next = await submit({ queue: 'chain', after: first });
    expect(await wait(next)).toMatchObject({ queuePosition: null, waitReason: 'Dependency', after: first });
    await tracker.finish(claim, 'failed');
    await promoteDelayed(api.redis, queueKeys(api.prefix, 'chain'), Date.now());
    expect(await wait(next)).toMatchObject({ queuePosition: 0, waitReason: 'Resources', after: first });
  });

  it('BeginTime during a retry backoff; none once the task runs', async () => {
    const tracker = await trackerOf('retry');
    const keys = queueKeys(api.prefix, 'retry');
    const id = await submit({ queue: 'retry' });
    const claim = await tracker.take(0);
    expect(await wait(id)).toMatchObject({ status: 'running', queuePosition: null, waitReason: null });
    const released = await releaseTask(api.redis, keys, claim, Date.now(), {
      reason: 'retry',
      attempt: 'free',
      delayMs: 600_000,
    });
    expect(released).toBe(true);
    expect(await wait(id)).toMatchObject({ status: 'queued', queuePosition: null, waitReason: 'BeginTime' });
  });
});
