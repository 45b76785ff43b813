// POST /v1/tasks with the fields of resource profiles and chains: `after` (a task of the same queue
// and tenant to wait for) refused with 400 naming the field when malformed, unknown, another
// tenant's or of another queue, nothing written; after a task the retention sweep archived, no
// wait. `envSetup` refused at submission (NO_CAPACITY, field envSetup, naming the trackers) while a
// live tracker that would take it does not run env setup lines, accepted once every one does or
// with waitForCapacity; `slurm` resources checked by their schema and shown back by GET
// /v1/tasks/:id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINAL_STATUSES, queueKeys, sweepFinished, type RetentionPolicy } from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, submitProbe, type TestApi } from './helpers/api.js';
import { FakeTracker, PROBE } from './helpers/fake-tracker.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi(redis.server, temp);
  await new FakeTracker(api.redis, api.keys, api.store).register();
  await new FakeTracker(api.redis, queueKeys(api.prefix, 'other'), api.store).register();
});
afterAll(() => api.close());

interface Refusal {
  error?: { code: string; details?: { issues?: Array<{ field: string; reason: string }> } };
}

async function post(spec: Record<string, unknown>, key: string = KEYS.alice) {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/tasks',
    headers: auth(key),
    payload: { executer: 'probe', ...spec },
  });
  return { status: res.statusCode, body: res.json<Refusal & { id?: string }>(), text: res.body };
}

const fields = (body: Refusal): string[] => (body.error?.details?.issues ?? []).map((i) => i.field);

async function taskCount(queue = 'default'): Promise<number> {
  return api.redis.zcard(queueKeys(api.prefix, queue).index);
}

describe('POST /v1/tasks after another task', () => {
  it('refuses an after that is malformed, unknown, another tenant’s or of another queue, and writes nothing', async () => {
    const bobs = await submitProbe(api.app, KEYS.bob);
    const elsewhere = await submitProbe(api.app, KEYS.alice, { queue: 'other' });
    const before = await taskCount();
    const malformed = await post({ after: 'not-a-task-id' });
    expect(malformed.status, malformed.text).toBe(400);
    expect(malformed.text).toContain('after');
    for (const after of [bobs, elsewhere, '01jzzzzzzzzzzzzzzzzzzzzzzz']) {
      const refused = await post({ after });
      expect(refused.status, refused.text).toBe(400);
      expect(fields(refused.body)).toEqual(['after']);
      expect(refused.text).toContain(after);
    }
    expect(await taskCount()).toBe(before);
  });

  it('waits for nothing after a task the retention sweep archived (it has ended)', async () => {
    const keys = queueKeys(api.prefix, 'archq');
    const tracker = new FakeTracker(api.redis, keys, api.store, 'arch-tracker');
    await tracker.register();
    const old = await submitProbe(api.app, KEYS.alice, { queue: 'archq' });
    await tracker.finish(await tracker.take(), 'succeeded');
    const policy: RetentionPolicy = {
      byStatus: Object.fromEntries(FINAL_STATUSES.map((s) => [s, 0])),
      tenants: {},
    };
    const swept = { redis: api.redis, keys, store: api.store, policy, now: Date.now() + 5000 };
    expect(await sweepFinished(swept)).toMatchObject({ removed: 1 });
    const next = await post({ queue: 'archq', after: old });
    expect(next.status, next.text).toBe(201);
    const res = await api.app.inject({ url: `/v1/tasks/${next.body.id}`, headers: auth(KEYS.alice) });
    expect(res.json()).toMatchObject({
      status: 'queued',
      after: old,
      waitReason: 'Resources',
      queuePosition: 0,
    });
    // Another tenant's archived task stays unknown to alice.
    expect((await post({ queue: 'archq', after: old }, KEYS.bob)).status).toBe(400);
  });

  it('accepts a task of the same queue and tenant and shows what it waits for', async () => {
    const first = await submitProbe(api.app, KEYS.alice);
    const next = await submitProbe(api.app, KEYS.alice, { after: first });
    const res = await api.app.inject({ url: `/v1/tasks/${next}`, headers: auth(KEYS.alice) });
    expect(res.json()).toMatchObject({ status: 'queued', after: first, waitReason: 'Dependency' });
  });
});

describe('POST /v1/tasks with an env setup line', () => {
  const line = 'source /opt/venv/bin/activate';

  it('is refused while a live tracker of the queue does not run env setup lines, naming it', async () => {
    const keys = queueKeys(api.prefix, 'envq');
    await new FakeTracker(api.redis, keys, api.store, 'plain-1').register([PROBE]);
    await new FakeTracker(api.redis, keys, api.store, 'setup-1').register([PROBE], {}, { envSetup: true });
    const refused = await post({ queue: 'envq', envSetup: line });
    expect(refused.status, refused.text).toBe(422);
    expect(refused.body.error?.code).toBe('NO_CAPACITY');
    expect(fields(refused.body)).toEqual(['envSetup']);
    expect(refused.text).toContain('plain-1');
    expect(refused.text).not.toContain('setup-1');
    expect(await taskCount('envq')).toBe(0);
    // Accepted with waitForCapacity, and once every tracker runs them.
    expect((await post({ queue: 'envq', envSetup: line, waitForCapacity: true })).status).toBe(201);
    await new FakeTracker(api.redis, keys, api.store, 'plain-1').register([PROBE], {}, { envSetup: true });
    const accepted = await post({ queue: 'envq', envSetup: line });
    expect(accepted.status, accepted.text).toBe(201);
    const view = await api.app.inject({ url: `/v1/tasks/${accepted.body.id}`, headers: auth(KEYS.alice) });
    expect(view.json()).toMatchObject({ envSetup: line, slurm: {} });
  });

  it('refuses a line with a newline, naming the field', async () => {
    const refused = await post({ envSetup: 'echo a\nrm -rf /' });
    expect(refused.status, refused.text).toBe(400);
    expect(refused.text).toContain('envSetup');
  });
});

describe('POST /v1/tasks with SLURM resources', () => {
  it('checks them by field and shows them back', async () => {
    const refused = await post({ slurm: { mem: '16 GB', cpusPerTask: 0, nodes: 2 } });
    expect(refused.status, refused.text).toBe(400);
    for (const field of ['slurm.mem', 'slurm.cpusPerTask', 'slurm.nodes'])
      expect(refused.text).toContain(field);
    const slurm = { partition: 'gpu', account: 'lab', mem: '16G', cpusPerTask: 8 };
    const id = await submitProbe(api.app, KEYS.alice, { slurm });
    const view = await api.app.inject({ url: `/v1/tasks/${id}`, headers: auth(KEYS.alice) });
    expect(view.json()).toMatchObject({ slurm, envSetup: null, after: null });
  });
});
