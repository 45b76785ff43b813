// POST /v1/tasks: JSON and multipart submissions, inputs streamed to the artifact store under the
// new task's id, every kind of bad request refused with a clear 4xx and nothing left behind, and
// Idempotency-Key (same body: same task, even sent 100 times at once; other body: 409).
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  getTask,
  inputsPrefix,
  listRegisteredQueues,
  TASK_ID_PATTERN,
  type ArtifactInfo,
} from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';
import { multipartBody } from './helpers/multipart.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;

const MAX_UPLOAD = 64 * 1024;
const MAX_JSON = 16 * 1024;

beforeAll(async () => {
  api = await startTestApi(redis.server, temp, {
    limits: { maxUploadBytes: MAX_UPLOAD, maxJsonBytes: MAX_JSON },
  });
  await new FakeTracker(api.redis, api.keys, api.store).register();
});
afterAll(() => api.close());

async function post(payload: unknown, headers: Record<string, string> = {}, key: string = KEYS.alice) {
  return api.app.inject({
    method: 'POST',
    url: '/v1/tasks',
    headers: { ...auth(key), ...headers },
    payload: payload as string,
  });
}

async function stored(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of api.store.list(prefix) as AsyncIterable<ArtifactInfo>) keys.push(info.key);
  return keys;
}

async function indexSize(): Promise<number> {
  return api.redis.zcard(api.keys.index);
}

describe('JSON submissions', () => {
  it('answers 201 with the id, status and queue position, and writes the task for the key’s tenant', async () => {
    const first = await post({ executer: 'probe', params: { steps: 3 } });
    expect(first.statusCode).toBe(201);
    const body = first.json<{ id: string; status: string; queue: string; queuePosition: number }>();
    expect(body.id).toMatch(new RegExp(TASK_ID_PATTERN));
    expect(body).toMatchObject({ status: 'queued', queue: 'default', replayed: false });
    // The second is counted while the queue's streams are being learnt, the third from the cached list.
    const second = (await post({ executer: 'probe' })).json<{ queuePosition: number }>();
    const third = (await post({ executer: 'probe' })).json<{ queuePosition: number }>();
    expect([second.queuePosition, third.queuePosition]).toEqual([
      body.queuePosition + 1,
      body.queuePosition + 2,
    ]);
    const record = await getTask(api.redis, api.keys, body.id);
    expect(record).toMatchObject({
      tenant: 'alice',
      executer: 'probe',
      status: 'queued',
      params: { steps: 3 },
    });
    expect(first.headers['x-request-id']).toBeTruthy();
  });

  it.each([
    ['malformed JSON', '{"executer": "probe",', 'INVALID_JSON', null],
    ['an unknown field', { executer: 'probe', colour: 'red' }, 'VALIDATION_FAILED', 'colour'],
    ['a wrong type', { executer: 'probe', gpus: '2' }, 'VALIDATION_FAILED', 'gpus'],
    ['a missing executer', { params: {} }, 'VALIDATION_FAILED', 'executer'],
    ['an unknown executer', { executer: 'nosuch' }, 'UNKNOWN_EXECUTER', 'executer'],
    [
      'a parameter below its minimum',
      { executer: 'probe', params: { steps: 0 } },
      'VALIDATION_FAILED',
      'params.steps',
    ],
    ['an unknown parameter', { executer: 'probe', params: { stepz: 2 } }, 'VALIDATION_FAILED', 'params'],
    [
      'a parameter of the wrong type',
      { executer: 'probe', params: { steps: '5' } },
      'VALIDATION_FAILED',
      'params.steps',
    ],
  ])('refuses %s with a 400 naming the problem, and writes nothing', async (_label, payload, code, field) => {
    const before = await indexSize();
    const res = await post(typeof payload === 'string' ? payload : JSON.stringify(payload), {
      'content-type': 'application/json',
    });
    expect(res.statusCode).toBe(400);
    const error = res.json<{
      error: { code: string; message: string; details: { issues?: Array<{ field: string }> } };
    }>().error;
    expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(5);
    if (field !== null) expect(error.details.issues?.map((i) => i.field)).toContain(field);
    expect(await indexSize()).toBe(before);
  });

  it('refuses a JSON body over the limit with 413', async () => {
    const res = await post({ executer: 'probe', params: { label: 'x'.repeat(MAX_JSON) } });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses a body announced larger than the upload limit with 413 before reading it', async () => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/tasks',
      headers: {
        ...auth(KEYS.alice),
        'content-type': 'multipart/form-data; boundary=x',
        'content-length': String(MAX_UPLOAD + 1),
      },
      payload: Readable.from([]),
    });
    expect(res.statusCode).toBe(413);
    expect(res.headers.connection).toBe('close');
  });

  it.each([
    ['application/x-www-form-urlencoded', 'executer=probe'],
    ['text/plain', '{"executer": "probe"}'],
    ['text/plain; charset=utf-8', 'executer=probe'],
  ])('refuses the media type %s with 415, and writes nothing', async (type, payload) => {
    const before = await indexSize();
    const res = await post(payload, { 'content-type': type });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await indexSize()).toBe(before);
  });
});

describe('input names and parameters a task could never run with', () => {
  /** A task of bob's, whose files alice's input names try to reach. */
  const other = { tenant: 'bob', task: '06gzw4jy34vchezwpynhynwebm' };
  const escapes = (): Array<[string, string]> => [
    ['a ".." segment', '../x'],
    ['an absolute path', '/etc/passwd'],
    ['an absolute path into the artifact store', `${api.store.root}/${other.tenant}/${other.task}/inputs/a`],
    ['another tenant’s outputs', `../../../${other.tenant}/${other.task}/1/outputs/file`],
    ['a "." segment', './x'],
    ['an empty segment', 'a//b'],
    ['a backslash', 'a\\..\\b'],
    ['a NUL character', 'a\0b'],
  ];

  it('refuses each JSON input name that would leave the inputs folder with 400 INVALID_PATH naming the field, and writes nothing', async () => {
    for (const [label, name] of escapes()) {
      const before = await indexSize();
      const res = await post({
        executer: 'probe',
        inputs: [{ name: 'ok.txt' }, { name: 'b/c.txt' }, { name }],
      });
      expect(res.statusCode, label).toBe(400);
      const error = res.json<{
        error: {
          code: string;
          message: string;
          details: { issues: Array<{ field: string; reason: string }> };
        };
      }>().error;
      expect(error.code, label).toBe('INVALID_PATH');
      expect(
        error.details.issues.map((i) => i.field),
        label,
      ).toEqual(['inputs[2].name']);
      expect(error.message, label).toContain('inputs[2].name');
      expect(await indexSize(), label).toBe(before);
    }
  });

  it('refuses such a spec before writing anything to Redis, even its queue’s name', async () => {
    const res = await post({ executer: 'probe', queue: 'paths-q', inputs: [{ name: '../x' }] });
    expect(res.json().error.code).toBe('INVALID_PATH');
    expect(await listRegisteredQueues(api.redis, api.prefix)).not.toContain('paths-q');
  });

  it('names every bad input name at once', async () => {
    const res = await post({ executer: 'probe', inputs: [{ name: '../a' }, { name: 'ok' }, { name: '/b' }] });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.issues).toEqual([
      { field: 'inputs[0].name', reason: expect.stringContaining('".."') as unknown },
      { field: 'inputs[2].name', reason: expect.stringContaining('absolute') as unknown },
    ]);
  });

  it('refuses a multipart spec listing such an input name before storing a byte', async () => {
    const before = await stored('alice');
    const body = await multipartBody(
      { executer: 'probe', inputs: [{ name: '../../../bob/x/1/outputs/file' }] },
      { 'a.txt': 'x' },
    );
    const res = await post(body.payload, body.headers);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 'INVALID_PATH',
      details: { issues: [{ field: 'inputs[0].name' }] },
    });
    expect(await stored('alice')).toEqual(before);
  });

  it('refuses a string parameter with a NUL character (argv cannot carry one), naming the parameter', async () => {
    const before = await indexSize();
    const res = await post({ executer: 'probe', params: { label: 'run\u0000one' } });
    expect(res.statusCode).toBe(400);
    const error = res.json().error;
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details.issues).toEqual([
      { field: 'params.label', reason: expect.stringContaining('NUL') as unknown },
    ]);
    expect(await indexSize()).toBe(before);
    const multipart = await multipartBody({ executer: 'probe', params: { label: 'a\0' } }, { 'a.txt': 'x' });
    const storedBefore = await stored('alice');
    const res2 = await post(multipart.payload, multipart.headers);
    expect(res2.statusCode).toBe(400);
    expect(res2.json().error.details.issues[0].field).toBe('params.label');
    expect(await stored('alice')).toEqual(storedBefore);
  });
});

describe('multipart submissions', () => {
  it('streams each input to the store under the task id and lists it in the task', async () => {
    const mesh = Buffer.alloc(20_000, 7);
    const body = await multipartBody(
      { executer: 'probe', inputs: [{ name: 'mesh.tar', extract: false }] },
      { 'case/geometry.txt': 'box 1 1\n', 'settings.json': '{"dt":0.1}', 'mesh.tar': mesh },
    );
    const res = await post(body.payload, body.headers);
    expect(res.statusCode).toBe(201);
    const { id } = res.json<{ id: string }>();
    const record = await getTask(api.redis, api.keys, id);
    expect(record?.inputs).toEqual([
      { name: 'mesh.tar', extract: false },
      { name: 'case/geometry.txt' },
      { name: 'settings.json' },
    ]);
    const prefix = inputsPrefix('alice', id);
    expect(await stored(prefix)).toEqual([
      `${prefix}/case/geometry.txt`,
      `${prefix}/mesh.tar`,
      `${prefix}/settings.json`,
    ]);
    const chunks: Buffer[] = [];
    for await (const chunk of await api.store.get(`${prefix}/mesh.tar`)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(mesh)).toBe(true);
  });

  it.each([
    ['an input named ../', { '../escape.txt': 'x' }, {}, 'INVALID_PATH'],
    ['an absolute input name', { '/etc/cron.d/x': 'x' }, {}, 'INVALID_PATH'],
    [
      'a spec listing an input that was not sent',
      { 'a.txt': 'x' },
      { inputs: [{ name: 'b.txt' }] },
      'INVALID_UPLOAD',
    ],
    ['an unknown executer', { 'a.txt': 'x' }, { executer: 'nosuch' }, 'UNKNOWN_EXECUTER'],
    ['bad parameters', { 'a.txt': 'x' }, { params: { steps: -1 } }, 'VALIDATION_FAILED'],
  ])('refuses %s and leaves nothing stored', async (_label, files, specExtra, code) => {
    const before = await stored('alice');
    const body = await multipartBody({ executer: 'probe', ...specExtra }, files);
    const res = await post(body.payload, body.headers);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe(code);
    expect(await stored('alice')).toEqual(before);
  });

  it('refuses a file sent before the spec, and a missing spec', async () => {
    const early = await multipartBody({ executer: 'probe' }, { 'a.txt': 'x' }, { specFirst: false });
    expect((await post(early.payload, early.headers)).json().error.code).toBe('INVALID_UPLOAD');
    const form = new FormData();
    form.append('input', new Blob(['x']), 'a.txt');
    const response = new Response(form);
    const none = await post(Buffer.from(await response.arrayBuffer()), {
      'content-type': response.headers.get('content-type') ?? '',
    });
    expect(none.statusCode).toBe(400);
    expect(none.json().error.code).toBe('INVALID_UPLOAD');
  });

  it('stops a streamed upload that passes the limit with 413 and removes what was stored', async () => {
    const before = await stored('alice');
    const body = await multipartBody(
      { executer: 'probe' },
      { 'small.bin': Buffer.alloc(1000), 'big.bin': Buffer.alloc(MAX_UPLOAD) },
    );
    // No Content-Length: the size is only found out while streaming.
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/tasks',
      headers: { ...auth(KEYS.alice), ...body.headers },
      payload: Readable.from([body.payload.subarray(0, 30_000), body.payload.subarray(30_000)]),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await stored('alice')).toEqual(before);
  });
});

describe('Idempotency-Key', () => {
  it('gives the same task for the same key and body, and a 409 for another body', async () => {
    const spec = { executer: 'probe', params: { steps: 4 } };
    const first = await post(spec, { 'idempotency-key': 'job-42' });
    expect(first.statusCode).toBe(201);
    const again = await post(spec, { 'idempotency-key': 'job-42' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ id: first.json().id, replayed: true, status: 'queued' });
    const other = await post({ ...spec, params: { steps: 5 } }, { 'idempotency-key': 'job-42' });
    expect(other.statusCode).toBe(409);
    expect(other.json().error).toMatchObject({
      code: 'IDEMPOTENCY_CONFLICT',
      details: { taskId: first.json().id },
    });
    const bob = await post(spec, { 'idempotency-key': 'job-42' }, KEYS.bob);
    expect(bob.statusCode).toBe(201);
    expect(bob.json().id).not.toBe(first.json().id);
  });

  it('refuses a header that differs from the spec’s idempotencyKey', async () => {
    const res = await post({ executer: 'probe', idempotencyKey: 'a' }, { 'idempotency-key': 'b' });
    expect(res.statusCode).toBe(400);
  });

  it('makes one task when the same key is sent 100 times at once', async () => {
    const before = await indexSize();
    const spec = { executer: 'probe', params: { label: 'concurrent' } };
    const replies = await Promise.all(
      Array.from({ length: 100 }, () => post(spec, { 'idempotency-key': 'burst-1' })),
    );
    const ids = new Set(replies.map((r) => r.json<{ id: string }>().id));
    expect(ids.size).toBe(1);
    expect(replies.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(replies.filter((r) => r.statusCode === 200)).toHaveLength(99);
    expect(await indexSize()).toBe(before + 1);
  });

  it('keeps a replayed multipart submission’s uploads out of the store', async () => {
    const body = await multipartBody({ executer: 'probe', params: { label: 'mp' } }, { 'a.txt': 'one' });
    const first = await post(body.payload, { ...body.headers, 'idempotency-key': 'mp-1' });
    const before = await stored('alice');
    const again = await post(body.payload, { ...body.headers, 'idempotency-key': 'mp-1' });
    expect(again.json().id).toBe(first.json().id);
    expect(await stored('alice')).toEqual(before);
  });
});
