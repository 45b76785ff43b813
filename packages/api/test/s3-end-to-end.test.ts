// Outputs on S3-compatible storage, end to end: the API and a real tracker both use
// ARTIFACT_STORE=s3://bucket/fleet against a real S3-protocol server (s3rver in a child process);
// inputs are uploaded through the API, outputs come back byte for byte through the API (streamed,
// and in a zip), and with GPUFLEET_API_OUTPUT_REDIRECT a download is a presigned URL that works
// before it expires and is refused after.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@gpufleet/core';
import { uniquePrefix, useRedis, useS3Server, useTempDirs } from '@gpufleet/testkit';
import { createTracker, loadTrackerConfig, type Tracker } from '@gpufleet/tracker';
import { loadApiConfig, startApiServer, type ApiServer } from '@gpufleet/api';
import { unzip } from './helpers/unzip.js';

const PROBE_EXECUTERS = fileURLToPath(new URL('../../tracker/test/fixtures/executers', import.meta.url));
const TOKEN = 's3-e2e-token-5b1e9c3a7d2f4e6a';
const headers = { authorization: `Bearer ${TOKEN}` };

const redis = useRedis();
const s3 = useS3Server();
const temp = useTempDirs();
let streaming: ApiServer;
let redirecting: ApiServer;
let tracker: Tracker;

beforeAll(async () => {
  // Both the API and the tracker read the S3 settings with their configuration, as in production;
  // process.env has none of them.
  const dir = await temp.make();
  const common = {
    ...s3.server.env,
    REDIS_URL: redis.server.url,
    GPUFLEET_PREFIX: uniquePrefix('s3'),
    ARTIFACT_STORE: `s3://${s3.server.bucket}/fleet`,
    LOG_LEVEL: 'silent',
  };
  const api = (redirect: boolean, expiresMs: number): Promise<ApiServer> =>
    startApiServer(
      loadApiConfig({
        ...common,
        GPUFLEET_API_PORT: '0',
        GPUFLEET_API_TOKEN: TOKEN,
        GPUFLEET_API_OUTPUT_REDIRECT: String(redirect),
        GPUFLEET_API_PRESIGN_EXPIRES_MS: String(expiresMs),
      }),
      silentLogger(),
    );
  streaming = await api(false, 900_000);
  redirecting = await api(true, 2000);
  tracker = await createTracker(
    loadTrackerConfig(
      {
        ...common,
        GPUFLEET_EXECUTERS: PROBE_EXECUTERS,
        GPUFLEET_GPUS: 'none',
        GPUFLEET_CPU_SLOTS: '2',
        GPUFLEET_WORKDIR: join(dir, 'work'),
        REDIS_CONSUMER_NAME: 's3-tracker',
      },
      dir,
    ),
    silentLogger(),
  );
  await tracker.start();
});

afterAll(async () => {
  await tracker?.close();
  await streaming?.close();
  await redirecting?.close();
});

describe('outputs on S3 through the API', () => {
  // Under the 128 KiB a single argument may have: the probe gets its files as a parameter.
  const data = Array.from({ length: 6_000 }, (_, i) => `${i},${Math.sin(i).toFixed(6)}`).join('\n');
  let id: string;

  it('runs a task whose inputs and outputs live in the bucket', async () => {
    const form = new FormData();
    form.append(
      'spec',
      JSON.stringify({ executer: 'probe', gpus: 0, params: { files: { 'frames/data.csv': data } } }),
    );
    form.append('input', new Blob(['case settings\n']), 'settings.txt');
    const created = await fetch(`${streaming.url}/v1/tasks`, { method: 'POST', headers, body: form });
    expect(created.status).toBe(201);
    id = ((await created.json()) as { id: string }).id;
    const done = await fetch(`${streaming.url}/v1/tasks/${id}/events?wait=1&timeoutMs=60000`, { headers });
    expect(((await done.json()) as { status: string }).status).toBe('succeeded');
    const puts = (await s3.server.requests()).filter((r) => r.operation === 'PutObject').map((r) => r.url);
    const bucket = `/${s3.server.bucket}/fleet/default/${id}`;
    expect(puts.some((url) => url.startsWith(`${bucket}/inputs/settings.txt`))).toBe(true);
    expect(puts.some((url) => url.startsWith(`${bucket}/1/outputs/frames/data.csv`))).toBe(true);
  });

  it('streams an output byte for byte, its sha256 that of the manifest, and zips them all', async () => {
    const manifest = (await (await fetch(`${streaming.url}/v1/tasks/${id}/outputs`, { headers })).json()) as {
      files: Array<{ path: string; sha256: string; size: number }>;
    };
    const entry = manifest.files.find((f) => f.path === 'frames/data.csv');
    const res = await fetch(`${streaming.url}/v1/tasks/${id}/outputs/frames/data.csv`, { headers });
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.toString()).toBe(data);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(entry?.sha256);
    const zip = unzip(
      Buffer.from(
        await (await fetch(`${streaming.url}/v1/tasks/${id}/outputs.zip`, { headers })).arrayBuffer(),
      ),
    );
    expect(zip.get('frames/data.csv')?.toString()).toBe(data);
    expect(zip.get('stdout.txt')?.toString()).toContain(`probe ${id} starting`);
  });

  it('redirects to a presigned URL that works until it expires', async () => {
    const res = await fetch(`${redirecting.url}/v1/tasks/${id}/outputs/frames/data.csv`, {
      headers,
      redirect: 'manual',
    });
    expect(res.status).toBe(302);
    const location = res.headers.get('location') ?? '';
    expect(location).toMatch(new RegExp(`^${s3.server.endpoint}/`));
    expect(location).toMatch(/X-Amz-Expires=2(&|$)/);
    const fresh = await fetch(location);
    expect(fresh.status).toBe(200);
    expect(await fresh.text()).toBe(data);
    await new Promise((resolve) => setTimeout(resolve, 3000)); // past the URL's 2 s life
    expect((await fetch(location)).status).toBe(403);
  });
});
