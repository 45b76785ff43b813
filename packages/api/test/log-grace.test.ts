// A task's live log stream goes a grace after the task ends (GPUFLEET_LOG_GRACE_MS, 300 ms here),
// and its log is still there: the API answers it from the task's stdout.txt and stderr.txt
// outputs, as text and followed, as for an archived task, though its record is still in Redis. A
// follow that resumes after an entry of the expired stream is told to resync first. A real
// redis-server, a real in-process tracker running the probe executer as a process, the API server.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { queueKeys, silentLogger, type QueueKeys } from '@gpufleet/core';
import { uniquePrefix, useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { createTracker, loadTrackerConfig, type Tracker } from '@gpufleet/tracker';
import { loadApiConfig, startApiServer, type ApiServer } from '@gpufleet/api';
import { parseSse, SseReader } from './helpers/sse.js';

const PROBE_EXECUTERS = fileURLToPath(new URL('../../tracker/test/fixtures/executers', import.meta.url));
const TOKEN = 'grace-token-3f9a1c7e5b2d4a6c';
const headers = { authorization: `Bearer ${TOKEN}` };

const redis = useRedis();
const temp = useTempDirs();
let server: ApiServer;
let tracker: Tracker;
let client: Redis;
let keys: QueueKeys;

beforeAll(async () => {
  const dir = await temp.make();
  const prefix = uniquePrefix('grace');
  const artifacts = join(dir, 'artifacts');
  const common = { REDIS_URL: redis.server.url, GPUFLEET_PREFIX: prefix, ARTIFACT_STORE: artifacts };
  server = await startApiServer(
    loadApiConfig({ ...common, GPUFLEET_API_PORT: '0', GPUFLEET_API_TOKEN: TOKEN, LOG_LEVEL: 'silent' }),
    silentLogger(),
  );
  const config = loadTrackerConfig(
    {
      ...common,
      GPUFLEET_EXECUTERS: PROBE_EXECUTERS,
      GPUFLEET_GPUS: '0',
      GPUFLEET_WORKDIR: join(dir, 'work'),
      REDIS_CONSUMER_NAME: 'grace-tracker',
      GPUFLEET_LEASE_MS: '3000',
      GPUFLEET_HEARTBEAT_MS: '500',
      GPUFLEET_BLOCK_MS: '200',
      GPUFLEET_LOG_GRACE_MS: '300',
      LOG_LEVEL: 'silent',
    },
    dir,
  );
  tracker = await createTracker(config, silentLogger());
  await tracker.start();
  client = redis.server.client();
  keys = queueKeys(prefix, 'default');
});

afterAll(async () => {
  await tracker?.close();
  await server?.close();
});

async function get(path: string, extra: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, { headers: { ...headers, ...extra } });
}

describe('a finished task’s live log', () => {
  let id: string;
  let cursor: string;

  it('is written while the task runs, and removed a grace after it ends', async () => {
    await waitFor(async () => {
      const res = await get('/v1/executers');
      return ((await res.json()) as { executers: Array<{ name: string }> }).executers.some(
        (e) => e.name === 'probe',
      );
    });
    const res = await fetch(`${server.url}/v1/tasks`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ executer: 'probe', params: { sleepMs: 1000 } }),
    });
    expect(res.status).toBe(201);
    id = ((await res.json()) as { id: string }).id;
    // Both lines are printed before the probe sleeps: the live stream holds them while it runs.
    const live = await waitFor(async () => {
      const logs = await get(`/v1/tasks/${id}/logs`);
      const text = await logs.text();
      return text.includes('a line on stderr') ? logs : null;
    });
    expect(live.headers.get('gpufleet-log-source')).toBe('live');
    cursor = live.headers.get('gpufleet-log-cursor') as string;
    await waitFor(async () => {
      const view = (await (await get(`/v1/tasks/${id}`)).json()) as { status: string };
      return view.status === 'succeeded';
    });
    await waitFor(async () => (await client.exists(keys.log(id))) === 0, {
      message: 'the live log stream to expire',
    });
    const view = (await (await get(`/v1/tasks/${id}`)).json()) as { status: string; archived: boolean };
    expect(view).toMatchObject({ status: 'succeeded', archived: false });
  });

  it('is answered from the output files as text', async () => {
    const res = await get(`/v1/tasks/${id}/logs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('gpufleet-log-source')).toBe('outputs');
    expect(res.headers.get('gpufleet-log-complete')).toBe('true');
    expect(await res.text()).toBe(`probe ${id} starting\nprobe: a line on stderr\n`);
  });

  it('is followed from the output files, after a resync for a client that resumes', async () => {
    const fresh = parseSse(await (await get(`/v1/tasks/${id}/logs?follow=1`)).text());
    const logs = [
      ['log', { stream: 'stdout', text: `probe ${id} starting\n` }],
      ['log', { stream: 'stderr', text: 'probe: a line on stderr\n' }],
    ];
    const end = ['end', { status: 'succeeded', exitCode: 0, error: null, errorCode: null }];
    expect(fresh.map((e) => [e.event, JSON.parse(e.data)])).toEqual([...logs, end]);
    const resumed = new SseReader(await get(`/v1/tasks/${id}/logs?follow=1`, { 'last-event-id': cursor }));
    const events = await resumed.rest();
    expect(events.map((e) => [e.event, e.event === 'resync' ? 'resync' : JSON.parse(e.data)])).toEqual([
      ['resync', 'resync'],
      ...logs,
      end,
    ]);
  });
});
