// The auth sweep: every route of the OpenAPI document, called with no key, a wrong key, a key in
// the query string, another scheme, and another tenant's key. Without a valid key every /v1 route
// answers 401 (before reading the body), except GET /v1/downloads/:token, whose token is its
// credential: a made-up one is 404 with or without a key; another tenant gets 404 for the task
// routes and 403 for the admin routes (drains, gc); and no answer carries anything of the task
// (its id, parameters or output bytes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { auth, KEYS, startTestApi, type TestApi } from './helpers/api.js';
import { FakeTracker } from './helpers/fake-tracker.js';

const redis = useRedis();
const temp = useTempDirs();
let api: TestApi;
let victim: string;
let routes: Array<{ method: string; path: string; url: string }>;

const SECRET_PARAM = 'label-of-alice-9f3c';
const SECRET_OUTPUT = 'output-of-alice-5e1a';
const PUBLIC = new Set(['/healthz', '/readyz', '/metrics']);
/** Routes of /v1 that take no key: a download link's token is the credential. */
const KEYLESS = new Set(['/v1/downloads/{token}']);
/** A well-formed token (32 bytes, base64url) that is no link's. */
const NO_LINK = 'BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc';
const ADMIN_ONLY = /^\/v1\/(trackers\/\{name\}\/|admin\/)/;

beforeAll(async () => {
  api = await startTestApi(redis.server, temp);
  const tracker = new FakeTracker(api.redis, api.keys, api.store);
  await tracker.register();
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/tasks',
    headers: auth(KEYS.alice),
    payload: { executer: 'probe', params: { label: SECRET_PARAM } },
  });
  victim = res.json<{ id: string }>().id;
  const claim = await tracker.take();
  await tracker.log(claim, 'stdout', SECRET_OUTPUT);
  await tracker.finish(claim, 'succeeded', { 'out.txt': SECRET_OUTPUT });
  const doc = (await api.app.inject({ url: '/openapi.json' })).json<{
    paths: Record<string, Record<string, unknown>>;
  }>();
  routes = Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => ({
      method: method.toUpperCase(),
      path,
      url: path
        .replace('{id}', victim)
        .replace('{*}', 'out.txt')
        .replace('{token}', NO_LINK)
        .replace('{queue}', 'default'),
    })),
  );
});
afterAll(() => api.close());

function call(route: { method: string; url: string }, headers: Record<string, string>, query = '') {
  return api.app.inject({
    method: route.method as 'GET' | 'POST' | 'PUT',
    url: `${route.url}${query}`,
    headers: route.method === 'POST' ? { ...headers, 'content-type': 'application/json' } : headers,
    payload: route.method === 'POST' ? '{"executer":"probe",' : undefined, // malformed on purpose
  });
}

function expectNoTaskData(body: string): void {
  expect(body).not.toContain(victim);
  expect(body).not.toContain(SECRET_PARAM);
  expect(body).not.toContain(SECRET_OUTPUT);
}

describe('the auth sweep', () => {
  it('covers every route of the API', () => {
    const paths = new Set(routes.map((r) => r.path));
    for (const path of [
      '/v1/tasks',
      '/v1/tasks/{id}',
      '/v1/tasks/{id}/events',
      '/v1/tasks/{id}/logs',
      '/v1/tasks/{id}/outputs',
      '/v1/tasks/{id}/outputs/{*}',
      '/v1/tasks/{id}/outputs.zip',
      '/v1/tasks/{id}/cancel',
      '/v1/tasks/{id}/priority',
      '/v1/executers',
      '/v1/queues',
      '/v1/trackers',
      '/v1/trackers/{name}/drain',
      '/v1/me',
      '/v1/tasks/{id}/download-links',
      '/v1/downloads/{token}',
      '/healthz',
      '/readyz',
      '/metrics',
    ]) {
      expect(paths).toContain(path);
    }
    expect(routes.filter((r) => !PUBLIC.has(r.path)).every((r) => r.path.startsWith('/v1/'))).toBe(true);
  });

  it('answers 401 without a valid key, before reading the body, with no task data', async () => {
    const attempts: Array<[Record<string, string>, string]> = [
      [{}, ''],
      [auth('not-a-key-at-all-0000'), ''],
      [auth(`${KEYS.alice}x`), ''],
      [{ authorization: `Basic ${Buffer.from(`alice:${KEYS.alice}`).toString('base64')}` }, ''],
      [{ authorization: KEYS.alice }, ''],
      [{}, `?access_token=${KEYS.alice}`],
      [{}, `?api_key=${KEYS.alice}&key=${KEYS.alice}&token=${KEYS.alice}`],
    ];
    for (const route of routes.filter((r) => !PUBLIC.has(r.path))) {
      for (const [headers, query] of attempts) {
        const res = await call(route, headers, query);
        if (KEYLESS.has(route.path)) {
          // No key is asked for, and a token that is no link's is a 404 whatever key comes with it.
          expect([res.statusCode, res.json().error.code], route.url).toEqual([404, 'NOT_FOUND']);
          expectNoTaskData(res.body);
          continue;
        }
        expect(res.statusCode, `${route.method} ${route.url}${query}`).toBe(401);
        expect(res.json().error.code).toBe('UNAUTHORIZED');
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
        expectNoTaskData(res.body);
      }
    }
  });

  it('answers another tenant 404 on every task route, and never shows the task elsewhere', async () => {
    for (const route of routes) {
      // A valid body where a route takes one, so that a 404 is for the task, not the body.
      const bodies: Record<string, Record<string, unknown>> = {
        'POST /v1/tasks': { executer: 'probe' },
        'PUT /v1/tasks/{id}/priority': { priority: 900 },
        'POST /v1/tasks/{id}/download-links': { zip: true },
      };
      const res = await api.app.inject({
        method: route.method as 'GET' | 'POST' | 'PUT',
        url: route.url,
        headers: auth(KEYS.bob),
        payload: bodies[`${route.method} ${route.path}`],
      });
      const where = `${route.method} ${route.url}`;
      if (route.path.includes('{id}')) {
        expect(res.statusCode, where).toBe(404);
        expect(res.json(), where).toEqual({
          error: { code: 'NOT_FOUND', message: 'no such task', details: {} },
        });
      } else if (ADMIN_ONLY.test(route.path)) {
        // Admin routes: a user key is refused before anything is read.
        expect(res.statusCode, where).toBe(403);
      } else if (KEYLESS.has(route.path)) {
        expect(res.statusCode, where).toBe(404);
      } else {
        expect(res.statusCode, where).toBeLessThan(300);
      }
      expectNoTaskData(res.body);
    }
  });

  it('lets the owner in on every task route (so the 404s above are not for another reason)', async () => {
    for (const route of routes.filter((r) => r.path.includes('{id}') && r.method === 'GET')) {
      const res = await api.app.inject({ url: route.url, headers: auth(KEYS.alice) });
      expect(res.statusCode, route.url).toBe(200);
    }
  });

  it('keeps health and metrics open', async () => {
    for (const path of PUBLIC) expect((await api.app.inject({ url: path })).statusCode, path).toBe(200);
  });
});
