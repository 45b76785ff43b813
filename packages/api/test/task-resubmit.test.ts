// POST /v1/tasks/:id/resubmit: a task submitted through multipart with input files is submitted
// again as a new task of the same spec, its inputs copied byte for byte under the new task's
// prefix before the enqueue, the old task left as it is. Found as for reading it (bob gets 404 for
// alice's task; an admin resubmits it and the new task is alice's), archived or not. Inputs gone from the store are
// 409 INPUTS_GONE naming them, with nothing written; the submission's checks apply (unknown
// executer 400, NO_CAPACITY 422, quota 429, copies removed); Idempotency-Key replays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  enqueue,
  FINAL_STATUSES,
  getTask,
  inputsPrefix,
  queueKeys,
  readArtifact,
  sweepFinished,
  type ArtifactInfo,
  type CatalogEntry,
  type RetentionPolicy,
} from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { TenantPolicy } from '@gpufleet/api';
import { auth, KEYS, startTestApi, submitProbe, type TestApi } from './helpers/api.js';
import { FakeTracker, PROBE } from './helpers/fake-tracker.js';
import { multipartBody } from './helpers/multipart.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi(redis.server, temp, {
    tenants: new TenantPolicy({ bob: { maxWaitingTasks: 1 } }),
  });
  await new FakeTracker(api.redis, api.keys, api.store).register();
});
afterAll(() => api.close());

/** Every spec field a resubmission carries, as GET /v1/tasks/:id shows it. */
const SPEC_FIELDS = [
  'executer',
  'queue',
  'params',
  'gpus',
  'gpuModels',
  'minGpuMemoryMiB',
  'gpuShareMiB',
  'timeLimitMs',
  'maxAttempts',
  'priority',
  'preemptible',
  'name',
  'tags',
  'inputs',
  'envSetup',
  'slurm',
] as const;

interface Resubmitted {
  id: string;
  queue: string;
  status: string;
  queuePosition: number | null;
  replayed: boolean;
  resubmittedFrom: string;
}

async function resubmit(id: string, key: string = KEYS.alice, headers: Record<string, string> = {}) {
  return api.app.inject({
    method: 'POST',
    url: `/v1/tasks/${id}/resubmit`,
    headers: { ...auth(key), ...headers },
  });
}

async function view(id: string, key: string = KEYS.admin): Promise<Record<string, unknown>> {
  const res = await api.app.inject({ url: `/v1/tasks/${id}`, headers: auth(key) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Record<string, unknown>>();
}

async function storedKeys(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of api.store.list(prefix) as AsyncIterable<ArtifactInfo>) keys.push(info.key);
  return keys;
}

/** The objects under a task's inputs prefix: name → bytes. */
async function inputsOf(tenant: string, id: string): Promise<Map<string, Buffer>> {
  const prefix = inputsPrefix(tenant, id);
  const files = new Map<string, Buffer>();
  for (const key of await storedKeys(prefix))
    files.set(key.slice(prefix.length + 1), await readArtifact(api.store, key));
  return files;
}

const BINARY = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31 + 7) % 256));

/** Submits `spec` with `files` through multipart as the holder of `key`; returns its id. */
async function submitWithInputs(
  spec: Record<string, unknown>,
  files: Record<string, string | Buffer>,
  key: string = KEYS.alice,
): Promise<string> {
  const body = await multipartBody({ executer: 'probe', ...spec }, files);
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/tasks',
    headers: { ...auth(key), ...body.headers },
    payload: body.payload,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>().id;
}

const FULL_SPEC = {
  params: { steps: 3, label: 'dam' },
  gpus: 1,
  gpuModels: ['H100'],
  minGpuMemoryMiB: 40_000,
  gpuShareMiB: 20_000,
  waitForCapacity: true,
  timeLimitMs: 90_000,
  maxAttempts: 5,
  retries: 2,
  retryBackoff: { strategy: 'exponential', delayMs: 1500 },
  priority: 700,
  preemptible: true,
  name: 'dam break',
  tags: { sweep: 'dx', owner: 'ada' },
  inputs: [{ name: 'mesh.tgz', extract: false }],
  envSetup: 'module load cuda/12 && export STEPS=3',
  slurm: { partition: 'gpu', account: 'lab', mem: '16G', cpusPerTask: 4 },
};
const FILES = { 'case/geometry.txt': 'box 1 2 3\n', 'mesh.tgz': BINARY };

describe('POST /v1/tasks/:id/resubmit', () => {
  it('makes a new task of the same spec, with byte-identical copies of its inputs, and leaves the old one', async () => {
    const old = await submitWithInputs(FULL_SPEC, FILES);
    const before = await view(old);
    const res = await resubmit(old);
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json<Resubmitted>();
    expect(body).toMatchObject({ queue: 'default', status: 'queued', replayed: false, resubmittedFrom: old });
    expect(body.id).not.toBe(old);
    expect(typeof body.queuePosition).toBe('number');

    const copy = await view(body.id);
    for (const field of SPEC_FIELDS) expect(copy[field], field).toEqual(before[field]);
    expect(copy).toMatchObject({ tenant: 'alice', status: 'queued', resubmittedFrom: old });
    expect(copy.inputs).toEqual([{ name: 'mesh.tgz', extract: false }, { name: 'case/geometry.txt' }]);
    const record = await getTask(api.redis, api.keys, body.id);
    expect(record).toMatchObject({
      waitForCapacity: true,
      retries: 2,
      retryBackoff: { strategy: 'exponential', delayMs: 1500 },
      idempotencyKey: null,
      resubmittedFrom: old,
    });

    const copied = await inputsOf('alice', body.id);
    expect([...copied.keys()].sort()).toEqual(['case/geometry.txt', 'mesh.tgz']);
    expect(copied.get('mesh.tgz')?.equals(BINARY)).toBe(true);
    expect(copied.get('case/geometry.txt')?.toString()).toBe('box 1 2 3\n');
    // The old task and its inputs as they were.
    const after = await view(old);
    for (const field of [...SPEC_FIELDS, 'status', 'createdAt', 'idempotencyKey'])
      expect(after[field], field).toEqual(before[field]);
    expect(after.resubmittedFrom).toBeNull();
    expect(await inputsOf('alice', old)).toEqual(copied);
  });

  it('resubmits an archived task (it left Redis) with its inputs', async () => {
    const tracker = new FakeTracker(api.redis, queueKeys(api.prefix, 'qa'), api.store, 'qa-tracker');
    await tracker.register();
    const old = await submitWithInputs({ queue: 'qa', params: { steps: 4 } }, { 'a.txt': 'archived input' });
    await tracker.finish(await tracker.take(), 'failed');
    const policy: RetentionPolicy = {
      byStatus: Object.fromEntries(FINAL_STATUSES.map((s) => [s, 0])),
      tenants: {},
    };
    const swept = { redis: api.redis, keys: tracker.keys, store: api.store, policy, now: Date.now() + 5000 };
    expect(await sweepFinished(swept)).toMatchObject({ removed: 1 });
    expect(await view(old)).toMatchObject({ archived: true, status: 'failed' });
    const res = await resubmit(old);
    expect(res.statusCode, res.body).toBe(201);
    const { id } = res.json<Resubmitted>();
    expect(await view(id)).toMatchObject({
      queue: 'qa',
      status: 'queued',
      params: { steps: 4 },
      resubmittedFrom: old,
    });
    expect((await inputsOf('alice', id)).get('a.txt')?.toString()).toBe('archived input');
  });

  it('answers 404 to another tenant’s user key, as for a missing task, and writes nothing', async () => {
    const old = await submitWithInputs({}, { 'a.txt': 'alice only' });
    const tasks = await api.redis.zcard(api.keys.index);
    const res = await resubmit(old, KEYS.bob);
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: { code: 'NOT_FOUND', message: 'no such task' } });
    expect(await api.redis.zcard(api.keys.index)).toBe(tasks);
    expect(await storedKeys('bob')).toEqual([]);
  });

  it('lets an admin resubmit alice’s task: the new task is alice’s, its inputs under her prefix', async () => {
    const old = await submitWithInputs({ name: 'for the admin' }, { 'a.txt': 'alice data' });
    const res = await resubmit(old, KEYS.admin);
    expect(res.statusCode, res.body).toBe(201);
    const { id } = res.json<Resubmitted>();
    expect(await view(id, KEYS.alice)).toMatchObject({ tenant: 'alice', name: 'for the admin' });
    expect((await inputsOf('alice', id)).get('a.txt')?.toString()).toBe('alice data');
    expect(await storedKeys('ops')).toEqual([]);
  });

  it('answers 409 INPUTS_GONE naming an input that is no longer stored, and writes nothing', async () => {
    const old = await submitWithInputs({}, { 'keep.txt': 'kept', 'data/gone.bin': BINARY });
    await api.store.deletePrefix(`${inputsPrefix('alice', old)}/data`);
    const tasks = await api.redis.zcard(api.keys.index);
    const stored = await storedKeys('alice');
    const res = await resubmit(old);
    expect(res.statusCode).toBe(409);
    const error = res.json<{ error: { code: string; message: string; details: unknown } }>().error;
    expect(error.code).toBe('INPUTS_GONE');
    expect(error.message).toContain('"data/gone.bin"');
    expect(error.message).not.toContain('keep.txt');
    expect(error.details).toEqual({ taskId: old, inputs: ['data/gone.bin'] });
    expect(await api.redis.zcard(api.keys.index)).toBe(tasks);
    expect(await storedKeys('alice')).toEqual(stored);
  });

  it('replays the same Idempotency-Key with the same new task, and refuses it for another task', async () => {
    const old = await submitWithInputs({}, { 'a.txt': 'once' });
    const key = { 'idempotency-key': 'retry-click-1' };
    const first = await resubmit(old, KEYS.alice, key);
    expect(first.statusCode, first.body).toBe(201);
    const stored = await storedKeys('alice');
    const again = await resubmit(old, KEYS.alice, key);
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({
      id: first.json<Resubmitted>().id,
      replayed: true,
      resubmittedFrom: old,
    });
    expect(await storedKeys('alice')).toEqual(stored); // the second request's copies were removed
    const other = await submitProbe(api.app, KEYS.alice);
    const conflict = await resubmit(other, KEYS.alice, key);
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({ error: { code: 'IDEMPOTENCY_CONFLICT' } });
  });

  it('applies a submission’s checks: quota 429 (copies removed), NO_CAPACITY 422, unknown executer 400', async () => {
    // bob may have one task waiting: his task with an input fills it.
    const bobs = await submitWithInputs({}, { 'b.txt': 'bob' }, KEYS.bob);
    const quota = await resubmit(bobs, KEYS.bob);
    expect(quota.statusCode, quota.body).toBe(429);
    expect(quota.json()).toMatchObject({ error: { code: 'QUOTA_EXCEEDED' } });
    expect(await storedKeys('bob')).toEqual([`${inputsPrefix('bob', bobs)}/b.txt`]);

    // A 3-GPU task, written as if accepted while a 3-GPU tracker was live (the API would refuse it
    // now): the queue's one live tracker has 2 GPUs.
    const wide = await enqueue(
      { redis: redis.server.client(), prefix: api.prefix },
      { executer: 'probe', gpus: 3 },
      { tenant: 'alice' },
    );
    const capacity = await resubmit(wide.id);
    expect(capacity.statusCode, capacity.body).toBe(422);
    expect(capacity.json()).toMatchObject({ error: { code: 'NO_CAPACITY' } });

    // An executer its queue no longer offers.
    const q3 = new FakeTracker(api.redis, queueKeys(api.prefix, 'q3'), api.store, 'q3-tracker');
    const retired: CatalogEntry = { ...PROBE, name: 'retired' };
    await q3.register([PROBE, retired]);
    const old = await submitProbe(api.app, KEYS.alice, { queue: 'q3', executer: 'retired' });
    await api.redis.hdel(q3.keys.executers, 'retired');
    // The API keeps for a second a catalog that lists the executer; asking for one it lacks reads it afresh.
    const refresh = await api.app.inject({
      method: 'POST',
      url: '/v1/tasks',
      headers: auth(KEYS.alice),
      payload: { executer: 'absent', queue: 'q3' },
    });
    expect(refresh.statusCode).toBe(400);
    const tasks = await api.redis.zcard(q3.keys.index);
    const unknown = await resubmit(old);
    expect(unknown.statusCode, unknown.body).toBe(400);
    expect(unknown.json()).toMatchObject({ error: { code: 'UNKNOWN_EXECUTER' } });
    expect(await api.redis.zcard(q3.keys.index)).toBe(tasks);
  });
});
