// GET /v1/queues shows each tenant's fair share beside its accounts: its weight and running-GPU
// quota as the API wrote them with its tasks (the keys file's `tenants`, else the defaults), its
// usage in GPU-hours decayed by the half-life the API wrote (ApiDeps.fairShareHalfLifeMs), and its
// place in the fair-share order. The app's clock runs half an hour ahead once a task has run, so
// the usage is large enough to read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { TenantPolicy } from '@gpufleet/api';
import { auth, submitProbe, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;
let tracker: FakeTracker;
let aheadMs = 0;

beforeAll(async () => {
  api = await startTestApi(redis.server, temp, {
    tenants: new TenantPolicy(
      { alice: { weight: 3, maxRunningGpus: 4 } },
      { maxWaitingTasks: null, maxRunningGpus: 2 },
    ),
    fairShareHalfLifeMs: 600_000,
    now: () => Date.now() + aheadMs,
  });
  tracker = new FakeTracker(api.redis, api.keys, api.store);
  await tracker.register();
});
afterAll(() => api?.close());

interface TenantEntry {
  waiting: number;
  runningTasks: number;
  runningGpus: number;
  weight: number;
  maxRunningGpus: number | null;
  usageGpuHours: number;
  fairShareRank: number;
}

async function tenants(key: string): Promise<Record<string, TenantEntry>> {
  const res = await api.app.inject({ url: '/v1/queues?queue=default', headers: auth(key) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ queues: Array<{ tenants: Record<string, TenantEntry> }> }>().queues[0]?.tenants ?? {};
}

async function submit(key: string, spec: Record<string, unknown>): Promise<void> {
  await submitProbe(api.app, key, spec);
}

describe('GET /v1/queues: fair share per tenant', () => {
  it('shows each tenant’s weight and quota as written with its tasks, before any usage', async () => {
    await submit(KEYS.alice, {});
    await submit(KEYS.bob, { gpus: 1 });
    expect(await tenants(KEYS.admin)).toEqual({
      alice: {
        waiting: 1,
        runningTasks: 0,
        runningGpus: 0,
        weight: 3,
        maxRunningGpus: 4,
        usageGpuHours: 0,
        fairShareRank: 1,
      },
      bob: {
        waiting: 1,
        runningTasks: 0,
        runningGpus: 0,
        weight: 1,
        maxRunningGpus: 2,
        usageGpuHours: 0,
        fairShareRank: 1,
      },
    });
  });

  it('counts a running task’s GPU time, decayed by the API’s half-life, and ranks the tenant after', async () => {
    const claim = await tracker.take(1);
    aheadMs = 1_800_000;
    const admin = await tenants(KEYS.admin);
    // 1 GPU for 30 minutes at a 10-minute half-life: (1 - 0.5^3) × 600 000 ms / ln 2 ≈ 0.2104 h
    // (at the default one-hour half-life it would be 0.4226 h).
    expect(admin.bob).toMatchObject({ runningTasks: 1, runningGpus: 1, fairShareRank: 2 });
    expect(admin.bob?.usageGpuHours).toBeCloseTo(0.2104, 2);
    expect(admin.alice).toMatchObject({ usageGpuHours: 0, fairShareRank: 1 });
    // A user key sees its own tenant only.
    expect(Object.keys(await tenants(KEYS.bob))).toEqual(['bob']);
    expect((await tenants(KEYS.bob)).bob?.fairShareRank).toBe(2);
    await tracker.finish(claim, 'succeeded');
  });
});
