// Outputs: the manifest, one file (whole, ranges, ETag), the zip (all or some files, streamed),
// and paths that try to leave the task's outputs (../, encoded %2e%2e, absolute, backslash)
// refused with a 400 before anything is looked up.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { FakeTracker, finishedTask } from './helpers/fake-tracker.js';
import { rawRequest } from './helpers/raw-http.js';
import { unzip } from './helpers/unzip.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;
let tracker: FakeTracker;
let id: string;
let base: string;

const big = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
const files: Record<string, Buffer> = {
  'stdout.txt': Buffer.from('step 1\nstep 2\n'),
  'frames/0001.csv': Buffer.from('x,y\n1,2\n'),
  'data.bin': big,
  'page.html': Buffer.from('<script>alert(1)</script>'),
  'naïve name.txt': Buffer.from('unicode'),
};

async function submit(): Promise<string> {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/tasks',
    headers: auth(KEYS.alice),
    payload: { executer: 'probe' },
  });
  return res.json<{ id: string }>().id;
}

async function get(url: string, headers: Record<string, string> = {}, key: string = KEYS.alice) {
  return api.app.inject({ url, headers: { ...auth(key), ...headers } });
}

beforeAll(async () => {
  api = await startTestApi(redis.server, temp);
  tracker = new FakeTracker(api.redis, api.keys, api.store);
  await tracker.register();
  id = await submit();
  const claim = await tracker.take();
  await tracker.finish(claim, 'succeeded', files);
  base = await api.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(() => api.close());

describe('the manifest and single files', () => {
  it('lists each output with its size and sha256', async () => {
    const res = await get(`/v1/tasks/${id}/outputs`);
    expect(res.statusCode).toBe(200);
    const manifest = res.json<{
      attempt: number;
      bytes: number;
      files: Array<{ path: string; size: number; sha256: string }>;
    }>();
    expect(manifest.attempt).toBe(1);
    expect(manifest.files.map((f) => f.path).sort()).toEqual(Object.keys(files).sort());
    for (const f of manifest.files) {
      const body = files[f.path] as Buffer;
      expect(f.size).toBe(body.length);
      expect(f.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    }
    expect(manifest.bytes).toBe(Object.values(files).reduce((n, b) => n + b.length, 0));
  });

  it('sends a file whole, as an attachment that browsers will not render', async () => {
    const res = await get(`/v1/tasks/${id}/outputs/data.bin`);
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.equals(big)).toBe(true);
    expect(res.headers['content-length']).toBe(String(big.length));
    expect(res.headers['accept-ranges']).toBe('bytes');
    const html = await get(`/v1/tasks/${id}/outputs/page.html`);
    expect(html.headers['content-type']).toBe('application/octet-stream');
    expect(html.headers['content-disposition']).toMatch(/^attachment; filename="page.html"/);
    expect(html.headers['x-content-type-options']).toBe('nosniff');
    const nested = await get(`/v1/tasks/${id}/outputs/frames/0001.csv`);
    expect(nested.body).toBe('x,y\n1,2\n');
    const unicode = await get(`/v1/tasks/${id}/outputs/${encodeURIComponent('naïve name.txt')}`);
    expect(unicode.body).toBe('unicode');
  });

  it.each([
    ['bytes=10-19', 206, 10, 19],
    ['bytes=99990-', 206, 99_990, 99_999],
    ['bytes=-5', 206, 99_995, 99_999],
    ['bytes=99990-200000', 206, 99_990, 99_999],
  ])('answers Range %s with the bytes asked for', async (range, status, start, end) => {
    const res = await get(`/v1/tasks/${id}/outputs/data.bin`, { range });
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${big.length}`);
    expect(res.rawPayload.equals(big.subarray(start, end + 1))).toBe(true);
  });

  it('answers a range past the end with 416, and a matching ETag with 304', async () => {
    const res = await get(`/v1/tasks/${id}/outputs/data.bin`, { range: 'bytes=100000-' });
    expect(res.statusCode).toBe(416);
    expect(res.headers['content-range']).toBe(`bytes */${big.length}`);
    expect(res.json().error.code).toBe('RANGE_NOT_SATISFIABLE');
    const first = await get(`/v1/tasks/${id}/outputs/data.bin`);
    const again = await get(`/v1/tasks/${id}/outputs/data.bin`, {
      'if-none-match': String(first.headers.etag),
    });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload.length).toBe(0);
  });

  it.each([
    ['../', '../1/outputs/data.bin'],
    ['../ deeper', 'frames/../../../../etc/passwd'],
    ['encoded %2e%2e', '%2e%2e/%2e%2e/etc/passwd'],
    ['encoded slashes', '..%2F..%2Fetc%2Fpasswd'],
    ['absolute', '/etc/passwd'],
    ['a backslash', '..%5C..%5Cwindows'],
    ['a dot segment', './data.bin'],
    ['an empty segment', 'frames//0001.csv'],
  ])('refuses a path with %s with 400 INVALID_PATH', async (_label, path) => {
    // A real server and a raw request: inject() and fetch() would resolve the dots first.
    const res = await rawRequest(base, `/v1/tasks/${id}/outputs/${path}`, { headers: auth(KEYS.alice) });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString()).error.code).toBe('INVALID_PATH');
    expect(res.body.toString()).not.toContain('root:');
  });

  it('answers 404 for a path not in the manifest and for another tenant', async () => {
    expect((await get(`/v1/tasks/${id}/outputs/nope.txt`)).json().error.code).toBe('OUTPUT_NOT_FOUND');
    expect((await get(`/v1/tasks/${id}/outputs/data.bin`, {}, KEYS.bob)).json().error.code).toBe('NOT_FOUND');
    expect((await get(`/v1/tasks/${id}/outputs.zip`, {}, KEYS.bob)).statusCode).toBe(404);
  });

  it('says when there are no outputs yet, or none at all', async () => {
    const waiting = await submit();
    const early = await get(`/v1/tasks/${waiting}/outputs`);
    expect(early.statusCode).toBe(409);
    expect(early.json().error).toMatchObject({ code: 'OUTPUTS_NOT_READY', details: { status: 'queued' } });
    const claim = await tracker.take();
    expect(claim.taskId).toBe(waiting);
    await tracker.finish(claim, 'failed');
    const none = await get(`/v1/tasks/${waiting}/outputs/stdout.txt`);
    expect(none.statusCode).toBe(404);
    expect(none.json().error.code).toBe('NO_OUTPUTS');
  });
});

describe('the zip', () => {
  it('holds every output, with a Content-Length known up front', async () => {
    const res = await get(`/v1/tasks/${id}/outputs.zip`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length);
    const entries = unzip(res.rawPayload);
    expect([...entries.keys()].sort()).toEqual(Object.keys(files).sort());
    for (const [path, body] of entries) expect(body.equals(files[path] as Buffer)).toBe(true);
  });

  it('holds only the files asked for, deflated when asked', async () => {
    const res = await get(`/v1/tasks/${id}/outputs.zip?files=data.bin&files=frames/0001.csv&compress=true`);
    expect(res.statusCode).toBe(200);
    const entries = unzip(res.rawPayload);
    expect([...entries.keys()]).toEqual(['data.bin', 'frames/0001.csv']);
    expect(entries.get('data.bin')?.equals(big)).toBe(true);
    expect(res.rawPayload.length).toBeLessThan(big.length);
  });

  it('refuses unknown and escaping paths in ?files=', async () => {
    expect((await get(`/v1/tasks/${id}/outputs.zip?files=nope`)).json().error.code).toBe('OUTPUT_NOT_FOUND');
    expect((await get(`/v1/tasks/${id}/outputs.zip?files=../x`)).json().error.code).toBe('INVALID_PATH');
  });
});

describe('redirect delivery', () => {
  it('answers with a presigned URL when the store can make one, and streams otherwise', async () => {
    const presigning = await startTestApi(redis.server, temp, {
      outputDelivery: 'redirect',
      wrapStore: (store) => ({
        description: store.description,
        put: store.put.bind(store),
        get: store.get.bind(store),
        stat: store.stat.bind(store),
        list: store.list.bind(store),
        deletePrefix: store.deletePrefix.bind(store),
        download: store.download.bind(store),
        close: store.close.bind(store),
        presignedGetUrl: async (key: string, expiresInMs: number) =>
          `https://bucket.example/${key}?expires=${expiresInMs}`,
      }),
    });
    try {
      const taskId = await finishedTask(presigning, { 'out.txt': 'x' });
      const res = await presigning.app.inject({
        url: `/v1/tasks/${taskId}/outputs/out.txt`,
        headers: auth(KEYS.alice),
      });
      expect(res.statusCode).toBe(302);
      expect(res.headers.location).toBe(
        `https://bucket.example/alice/${taskId}/1/outputs/out.txt?expires=900000`,
      );
    } finally {
      await presigning.close();
    }
    // The app of this file has no presigning store: it streams.
    expect((await get(`/v1/tasks/${id}/outputs/data.bin`)).statusCode).toBe(200);
  });
});
