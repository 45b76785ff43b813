// End to end, as a user sees it: the API server started from its configuration (server.ts), a real
// redis-server and a real in-process tracker running the probe executer as a process. Submit a
// folder of inputs (files and an archive) → follow the logs until the task ends → download one
// output and the zip → the bytes are those the executer wrote, and it saw the inputs as sent.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@gpufleet/core';
import { uniquePrefix, useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { createTracker, loadTrackerConfig, type Tracker } from '@gpufleet/tracker';
import { loadApiConfig, startApiServer, type ApiServer } from '@gpufleet/api';
import { SseReader } from './helpers/sse.js';
import { makeTar } from './helpers/tar.js';
import { unzip } from './helpers/unzip.js';

const PROBE_EXECUTERS = fileURLToPath(new URL('../../tracker/test/fixtures/executers', import.meta.url));
const TOKEN = 'e2e-token-7c4d2b9a1f3e5d6c';

const redis = useRedis();
const temp = useTempDirs();
let server: ApiServer;
let tracker: Tracker;
let inputDir: string;

const headers = { authorization: `Bearer ${TOKEN}` };

async function listFiles(dir: string, base = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, base), { withFileTypes: true })) {
    const rel = base === '' ? entry.name : `${base}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

beforeAll(async () => {
  const dir = await temp.make();
  const prefix = uniquePrefix('e2e');
  const artifacts = join(dir, 'artifacts');
  server = await startApiServer(
    loadApiConfig({
      REDIS_URL: redis.server.url,
      GPUFLEET_PREFIX: prefix,
      ARTIFACT_STORE: artifacts,
      GPUFLEET_API_PORT: '0',
      GPUFLEET_API_TOKEN: TOKEN,
      GPUFLEET_API_MAX_UPLOAD_BYTES: '512MiB',
      LOG_LEVEL: 'silent',
    }),
    silentLogger(),
  );
  const trackerConfig = loadTrackerConfig(
    {
      REDIS_URL: redis.server.url,
      GPUFLEET_PREFIX: prefix,
      ARTIFACT_STORE: artifacts,
      GPUFLEET_EXECUTERS: PROBE_EXECUTERS,
      GPUFLEET_GPUS: '0,1',
      GPUFLEET_WORKDIR: join(dir, 'work'),
      REDIS_CONSUMER_NAME: 'e2e-tracker',
      GPUFLEET_LEASE_MS: '3000',
      GPUFLEET_HEARTBEAT_MS: '500',
      GPUFLEET_BLOCK_MS: '200',
      LOG_LEVEL: 'silent',
    },
    dir,
  );
  tracker = await createTracker(trackerConfig, silentLogger());
  await tracker.start();

  // The folder a user submits: files in subfolders, and an archive the tracker extracts.
  inputDir = join(dir, 'case-folder');
  const files: Record<string, string | Buffer> = {
    'geometry/box.txt': 'box 1 1 1\n',
    'geometry/walls/left.stl': Buffer.alloc(3000, 9),
    'settings.json': '{"dt": 0.01}',
    'mesh.tar': makeTar({ 'mesh/cells.txt': 'c1 c2 c3\n', 'mesh/nodes.txt': 'n1 n2\n' }),
  };
  for (const [path, body] of Object.entries(files)) {
    await mkdir(dirname(join(inputDir, path)), { recursive: true });
    await writeFile(join(inputDir, path), body);
  }
});

afterAll(async () => {
  await tracker?.close();
  await server?.close();
});

describe('a task from submission to download', () => {
  const csv = Array.from({ length: 5000 }, (_, i) => `${i},${(i * 0.37).toFixed(3)}`).join('\n');
  const outputs = { 'result.txt': 'hello from the probe\n', 'frames/data.csv': csv };
  let id: string;

  it('accepts a folder of inputs once the tracker has published its executer', async () => {
    await waitFor(async () => {
      const res = await fetch(`${server.url}/v1/executers`, { headers });
      const offers = ((await res.json()) as { executers: Array<{ name: string }> }).executers;
      return offers.some((o) => o.name === 'probe');
    });
    const form = new FormData();
    form.append('spec', JSON.stringify({ executer: 'probe', params: { sleepMs: 300, files: outputs } }));
    for (const path of await listFiles(inputDir)) {
      form.append('input', new Blob([new Uint8Array(await readFile(join(inputDir, path)))]), path);
    }
    const res = await fetch(`${server.url}/v1/tasks`, { method: 'POST', headers, body: form });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string; status: string };
    expect(body.status).toBe('queued');
    id = body.id;
  });

  it('streams the logs until the task ends', async () => {
    const res = await fetch(`${server.url}/v1/tasks/${id}/logs?follow=1`, { headers });
    const sse = new SseReader(res);
    const events = await sse.rest();
    const text = events
      .filter((e) => e.event === 'log')
      .map((e) => (JSON.parse(e.data) as { text: string }).text)
      .join('');
    expect(text).toContain(`probe ${id} starting`);
    expect(text).toContain('probe: a line on stderr');
    const end = events.at(-1);
    expect(end?.event).toBe('end');
    expect(JSON.parse(end?.data ?? '{}')).toMatchObject({
      status: 'succeeded',
      exitCode: 0,
      errorCode: null,
    });
  });

  it('serves each output with the bytes the executer wrote', async () => {
    const manifest = (await (await fetch(`${server.url}/v1/tasks/${id}/outputs`, { headers })).json()) as {
      files: Array<{ path: string; size: number; sha256: string }>;
    };
    const paths = manifest.files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining(['result.txt', 'frames/data.csv', 'report.json', 'stdout.txt', 'stderr.txt']),
    );
    const res = await fetch(`${server.url}/v1/tasks/${id}/outputs/frames/data.csv`, { headers });
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.toString()).toBe(csv);
    const listed = manifest.files.find((f) => f.path === 'frames/data.csv');
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(listed?.sha256);
    const part = await fetch(`${server.url}/v1/tasks/${id}/outputs/frames/data.csv`, {
      headers: { ...headers, range: 'bytes=100-199' },
    });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).toString()).toBe(csv.slice(100, 200));
  });

  it('zips the outputs, and the executer saw the inputs as sent (the archive extracted)', async () => {
    const res = await fetch(`${server.url}/v1/tasks/${id}/outputs.zip`, { headers });
    expect(res.status).toBe(200);
    const entries = unzip(Buffer.from(await res.arrayBuffer()));
    expect(entries.get('result.txt')?.toString()).toBe(outputs['result.txt']);
    expect(entries.get('frames/data.csv')?.toString()).toBe(csv);
    const report = JSON.parse(entries.get('report.json')?.toString() ?? '{}') as {
      inputs: string[];
      taskId: string;
    };
    expect(report.taskId).toBe(id);
    expect(report.inputs).toEqual([
      'geometry/box.txt',
      'geometry/walls/left.stl',
      'mesh/cells.txt',
      'mesh/nodes.txt',
      'settings.json',
    ]);
    for (const [path, body] of entries) {
      const single = await fetch(`${server.url}/v1/tasks/${id}/outputs/${path}`, { headers });
      expect(Buffer.from(await single.arrayBuffer()).equals(body), path).toBe(true);
    }
  });
});

describe('the real server', () => {
  it('streams a large upload to the store without holding it in memory', async () => {
    const size = 256 * 1024 * 1024;
    const boundary = 'bench-boundary-3f9c';
    const url = new URL(server.url);
    const block = Buffer.alloc(1024 * 1024, 0x5a);
    let peak = 0;
    const base = process.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss - base)), 10);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        path: '/v1/tasks',
        method: 'POST',
        headers: { ...headers, 'content-type': `multipart/form-data; boundary=${boundary}` },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      const spec = JSON.stringify({ executer: 'probe', params: { sleepMs: 0 } });
      req.write(`--${boundary}\r\ncontent-disposition: form-data; name="spec"\r\n\r\n${spec}\r\n`);
      req.write(
        `--${boundary}\r\ncontent-disposition: form-data; name="input"; filename="big/volume.raw"\r\n`,
      );
      req.write('content-type: application/octet-stream\r\n\r\n');
      let sent = 0;
      const pump = (): void => {
        while (sent < size) {
          sent += block.length;
          if (!req.write(block)) return void req.once('drain', pump);
        }
        req.end(`\r\n--${boundary}--\r\n`);
      };
      pump();
    });
    clearInterval(sampler);
    expect(answer.status, answer.body).toBe(201);
    const { id } = JSON.parse(answer.body) as { id: string };
    const task = (await (await fetch(`${server.url}/v1/tasks/${id}`, { headers })).json()) as {
      inputs: unknown;
    };
    expect(task.inputs).toEqual([{ name: 'big/volume.raw' }]);
    expect(peak).toBeLessThan(size / 2); // far below the upload: it was never held whole
    await fetch(`${server.url}/v1/tasks/${id}/cancel`, { method: 'POST', headers });
  });

  it('answers an announced oversize upload with 413 without waiting for the body', async () => {
    const url = new URL(server.url);
    const answer = await new Promise<{ status: number; code: string }>((resolve, reject) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        path: '/v1/tasks',
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'multipart/form-data; boundary=b',
          'content-length': String(50 * 1024 ** 3),
        },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            code: (JSON.parse(body) as { error: { code: string } }).error.code,
          }),
        );
      });
      req.on('error', reject);
      req.flushHeaders(); // the headers only: 50 GiB are announced, not one byte is sent
    });
    expect(answer).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
  });

  it('serves the OpenAPI document and the docs page without a key', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: object;
    };
    expect(doc.openapi).toBe('3.1.0');
    const page = await fetch(`${server.url}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger-ui');
    const bundle = await fetch(`${server.url}/docs/static/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
    expect((await fetch(`${server.url}/docs/static/..%2F..%2Fpackage.json`)).status).toBe(404);
  });
});
