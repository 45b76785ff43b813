// The dashboard's static files under / (http/dashboard.ts), from a folder the test writes as a
// build would: index.html and hashed assets with their .br copies. A file is sent compressed when
// the client accepts it, a rebuild is served at once (no restart), a path with no file keeps the
// API's JSON 404 (under /v1 too), an API without a dashboard says how to build one, and
// GPUFLEET_DASHBOARD_DIR chooses the folder (`none`: no dashboard) or is refused at start.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { brotliCompressSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { loadApiConfig } from '@gpufleet/api';
import { startTestApi, type TestApi } from './helpers/api.js';

const redis = useRedis();
const temp = useTempDirs();
const apis: TestApi[] = [];
afterEach(async () => {
  await Promise.all(apis.splice(0).map((api) => api.close()));
});

async function build(dir: string, asset: string, body: string): Promise<void> {
  await mkdir(join(dir, 'assets'), { recursive: true });
  await writeFile(join(dir, 'index.html'), `<script type="module" src="/assets/${asset}"></script>`);
  await writeFile(join(dir, 'assets', asset), body);
  await writeFile(join(dir, 'assets', `${asset}.br`), brotliCompressSync(body));
}

describe('the dashboard under /', () => {
  it('serves the build compressed, a rebuild at once, and the JSON 404 elsewhere', async () => {
    const dir = await temp.make();
    const first = 'console.log("first build");'.repeat(50);
    await build(dir, 'index-aaaa.js', first);
    const api = await startTestApi(redis.server, temp, { dashboardRoot: dir });
    apis.push(api);
    const page = await api.app.inject({ url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('/assets/index-aaaa.js');
    const plain = await api.app.inject({ url: '/assets/index-aaaa.js' });
    expect(plain.body).toBe(first);
    const br = await api.app.inject({ url: '/assets/index-aaaa.js', headers: { 'accept-encoding': 'br' } });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.rawPayload.length).toBeLessThan(first.length);

    // Rebuilt while the API runs: the new index.html names a new asset, which is there at once.
    await build(dir, 'index-bbbb.js', 'console.log("second build");');
    expect((await api.app.inject({ url: '/' })).body).toContain('/assets/index-bbbb.js');
    expect((await api.app.inject({ url: '/assets/index-bbbb.js' })).statusCode).toBe(200);

    for (const url of ['/nothing-here', '/assets/gone.js', '/v1/no-such-route']) {
      const missing = await api.app.inject({ url });
      expect(missing.statusCode, url).toBe(404);
      expect(missing.json(), url).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
  });

  it('says how to build it when there is none', async () => {
    const api = await startTestApi(redis.server, temp, { dashboardRoot: null });
    apis.push(api);
    const res = await api.app.inject({ url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build');
  });

  it('takes GPUFLEET_DASHBOARD_DIR: a built folder, none, or refuses it at start', async () => {
    const dir = await temp.make();
    await build(dir, 'index-cccc.js', '1;');
    const token = { GPUFLEET_API_TOKEN: 'a-token-of-enough-length' };
    expect(loadApiConfig({ ...token, GPUFLEET_DASHBOARD_DIR: dir }).dashboardDir).toBe(dir);
    expect(loadApiConfig({ ...token, GPUFLEET_DASHBOARD_DIR: 'none' }).dashboardDir).toBeNull();
    expect(loadApiConfig(token).dashboardDir).toBeUndefined();
    const empty = await temp.make();
    expect(() => loadApiConfig({ ...token, GPUFLEET_DASHBOARD_DIR: empty })).toThrow(
      /GPUFLEET_DASHBOARD_DIR: must be a built dashboard, a folder with index\.html, or none/,
    );
  });
});
