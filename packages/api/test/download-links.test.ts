// Download links: POST /v1/tasks/:id/download-links makes a token that stands for one output file
// or the outputs zip, stored in Redis for 60 s; GET /v1/downloads/:token serves, with no key, what
// the authenticated output routes serve (same bytes and headers, Range included), as often as
// asked until it expires, and then 404. The link is made only for a task the key may read (an
// admin any tenant's) and a path in its manifest; the token never reaches the request log.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadLinkKey } from '@gpufleet/core';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { auth, jsonLineSink, KEYS, startTestApi, submitProbe, type TestApi } from './helpers/api.js';
import { finishedTask } from './helpers/fake-tracker.js';

const redis = useRedis();
const temp = useTempDirs();
const lines: Array<Record<string, unknown>> = [];
let api: TestApi;
let id: string;

const DATA = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));

beforeAll(async () => {
  api = await startTestApi(redis.server, temp, { logger: pino({ level: 'info' }, jsonLineSink(lines)) });
  id = await finishedTask(api, { 'out.txt': 'hello, link', 'sub/data.bin': DATA });
});
afterAll(() => api.close());

async function makeLink(body: Record<string, unknown>, key: string = KEYS.alice, task = id) {
  return api.app.inject({
    method: 'POST',
    url: `/v1/tasks/${task}/download-links`,
    headers: auth(key),
    payload: body,
  });
}

/** A link's url, failing the test unless it was made. */
async function linkUrl(body: Record<string, unknown>, key: string = KEYS.alice): Promise<string> {
  const res = await makeLink(body, key);
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ url: string }>().url;
}

const tokenOf = (url: string): string => url.slice('/v1/downloads/'.length);

/** The headers a file answer and its link's answer must share. */
const SAME = ['content-type', 'content-disposition', 'content-length', 'etag', 'accept-ranges'];

describe('POST /v1/tasks/:id/download-links', () => {
  it('answers a url under /v1/downloads and when it expires; the token lives 60 s in Redis', async () => {
    const before = Date.now();
    const res = await makeLink({ path: 'out.txt' });
    expect(res.statusCode).toBe(201);
    const { url, expiresAt } = res.json<{ url: string; expiresAt: string }>();
    expect(url).toMatch(/^\/v1\/downloads\/[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(expiresAt) - before).toBeGreaterThanOrEqual(60_000);
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
    const key = downloadLinkKey(api.prefix, tokenOf(url));
    expect(JSON.parse((await api.redis.get(key)) as string)).toEqual({
      tenant: 'alice',
      taskId: id,
      path: 'out.txt',
    });
    const ttl = await api.redis.pttl(key);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    // Each link has a token of its own.
    expect(await linkUrl({ path: 'out.txt' })).not.toBe(url);
  });

  it('is made for a task the key may read only, and a path of its manifest', async () => {
    const bob = await makeLink({ zip: true }, KEYS.bob);
    expect([bob.statusCode, bob.json().error]).toEqual([
      404,
      { code: 'NOT_FOUND', message: 'no such task', details: {} },
    ]);
    // An admin key may make one for any tenant's task.
    expect((await makeLink({ path: 'out.txt' }, KEYS.admin)).statusCode).toBe(201);
    const missing = await makeLink({ path: 'nope.txt' });
    expect([missing.statusCode, missing.json().error]).toMatchObject([
      404,
      { code: 'OUTPUT_NOT_FOUND', details: { path: 'nope.txt' } },
    ]);
    expect(missing.json().error.message).toContain('nope.txt');
    expect((await makeLink({ path: '../out.txt' })).json().error.code).toBe('INVALID_PATH');
    for (const body of [{}, { zip: false }, { path: 'out.txt', zip: true }, { path: '' }]) {
      const res = await makeLink(body);
      expect([JSON.stringify(body), res.statusCode, res.json().error.code]).toEqual([
        JSON.stringify(body),
        400,
        'VALIDATION_FAILED',
      ]);
      expect(res.json().error.details.issues[0].reason).toBe(
        'must be {"path": "<an output’s path>"} or {"zip": true}, nothing else',
      );
    }
    const queued = await submitProbe(api.app, KEYS.alice);
    const early = await makeLink({ zip: true }, KEYS.alice, queued);
    expect([early.statusCode, early.json().error.code]).toEqual([409, 'OUTPUTS_NOT_READY']);
    expect((await makeLink({ zip: true }, KEYS.alice, 'not-a-task')).statusCode).toBe(404);
  });
});

describe('GET /v1/downloads/:token', () => {
  it('serves a file with no key, as the output route does, again and again, with Range', async () => {
    const url = await linkUrl({ path: 'sub/data.bin' });
    const direct = await api.app.inject({
      url: `/v1/tasks/${id}/outputs/sub/data.bin`,
      headers: auth(KEYS.alice),
    });
    for (let i = 0; i < 2; i++) {
      const res = await api.app.inject({ url });
      expect(res.statusCode).toBe(200);
      expect(res.rawPayload.equals(DATA)).toBe(true);
      for (const name of SAME) expect([name, res.headers[name]]).toEqual([name, direct.headers[name]]);
    }
    expect((await api.app.inject({ url })).headers['content-disposition']).toMatch(
      /^attachment; filename="data.bin"/,
    );
    expect((await api.app.inject({ url })).headers['x-content-type-options']).toBe('nosniff');
    const head = await api.app.inject({ method: 'HEAD', url });
    expect([head.statusCode, head.headers['content-length'], head.body]).toEqual([
      200,
      String(DATA.length),
      '',
    ]);
    const part = await api.app.inject({ url, headers: { range: 'bytes=10-19' } });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 10-19/${DATA.length}`);
    expect(part.rawPayload.equals(DATA.subarray(10, 20))).toBe(true);
  });

  it('serves the outputs zip with no key, byte for byte the zip route’s', async () => {
    const url = await linkUrl({ zip: true });
    const direct = await api.app.inject({ url: `/v1/tasks/${id}/outputs.zip`, headers: auth(KEYS.alice) });
    const res = await api.app.inject({ url });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="${id}-outputs.zip"`);
    expect(res.rawPayload.equals(direct.rawPayload)).toBe(true);
    expect(res.headers['content-length']).toBe(direct.headers['content-length']);
  });

  it('answers 404 once the link expired, and for a token that is no link’s', async () => {
    const url = await linkUrl({ path: 'out.txt' });
    expect((await api.app.inject({ url })).body).toBe('hello, link');
    await api.redis.pexpire(downloadLinkKey(api.prefix, tokenOf(url)), 1);
    await waitFor(async () => (await api.redis.exists(downloadLinkKey(api.prefix, tokenOf(url)))) === 0, {
      message: 'the link expired',
    });
    for (const gone of [
      url,
      `/v1/downloads/${'A'.repeat(43)}`,
      '/v1/downloads/short',
      '/v1/downloads/..%2F..',
    ]) {
      const res = await api.app.inject({ url: gone });
      expect([gone, res.statusCode, res.json().error.code]).toEqual([gone, 404, 'NOT_FOUND']);
    }
  });

  it('is marked in the OpenAPI document as needing no key', async () => {
    const doc = (await api.app.inject({ url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    }>();
    expect(doc.paths['/v1/downloads/{token}']?.get?.security).toEqual([]);
    expect(doc.paths['/v1/tasks/{id}/download-links']?.post?.security).toBeUndefined();
  });

  it('keeps the token out of the request log', async () => {
    const url = await linkUrl({ path: 'out.txt' });
    lines.length = 0;
    expect((await api.app.inject({ url })).statusCode).toBe(200);
    const completed = lines.filter((l) => l.msg === 'request completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({
      path: '/v1/downloads/:token',
      route: '/v1/downloads/:token',
      taskId: id,
    });
    expect(JSON.stringify(lines)).not.toContain(tokenOf(url));
  });
});
