// Shutdown of the real gpufleet-api process with an SSE follower connected (and the task metrics
// follower reading the queue's events stream, as always): the first SIGTERM makes it exit 0 within
// a few seconds whether Redis is up (the follower's stream ends, the request connection says QUIT,
// nothing is logged as failed), hung (SIGSTOP) or gone (SIGKILL). A container platform SIGKILLs
// whatever does not exit.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalArtifactStore, queueKeys } from '@gpufleet/core';
import { uniquePrefix, useRedis, useTempDirs } from '@gpufleet/testkit';
import { SHUTDOWN_QUIT_MS } from '../src/server.js';
import { auth } from './helpers/api.js';
import { ApiProcess, type LogLine } from './helpers/api-process.js';
import { FakeTracker } from './helpers/fake-tracker.js';
import { SseReader } from './helpers/sse.js';

const redis = useRedis();
const temp = useTempDirs();
const TOKEN = 'shutdown-test-token-5d1c9a';
/** What "within a few seconds" means here. */
const EXIT_WITHIN_MS = 3000;
const running: ApiProcess[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((api) => api.stop()));
});

/** Starts the API, creates a task and follows its events until the first status arrives. */
async function startFollowed(): Promise<{ api: ApiProcess; follower: SseReader }> {
  const prefix = uniquePrefix('shutdown');
  const dir = await temp.make();
  const artifactDir = join(dir, 'artifacts');
  const api = new ApiProcess({ redisUrl: redis.server.url, prefix, artifactDir, cwd: dir, token: TOKEN });
  running.push(api);
  const url = await api.listening();
  const keys = queueKeys(prefix, 'default');
  await new FakeTracker(redis.server.client(), keys, new LocalArtifactStore(artifactDir)).register();
  const created = await fetch(`${url}/v1/tasks`, {
    method: 'POST',
    headers: { ...auth(TOKEN), 'content-type': 'application/json' },
    body: JSON.stringify({ executer: 'probe' }),
  });
  expect(created.status, await created.clone().text()).toBe(201);
  const { id } = (await created.json()) as { id: string };
  const follower = new SseReader(await fetch(`${url}/v1/tasks/${id}/events`, { headers: auth(TOKEN) }));
  await follower.until((e) => e.event === 'status');
  return { api, follower };
}

/** Sends SIGTERM; how it exited (null: still running after EXIT_WITHIN_MS) and how long it took. */
async function terminate(api: ApiProcess): Promise<{ exit: unknown; ms: number }> {
  const started = performance.now();
  api.signal('SIGTERM');
  const exit = await api.exitWithin(EXIT_WITHIN_MS);
  return { exit, ms: performance.now() - started };
}

const failures = (api: ApiProcess): LogLine[] => api.logs.filter((l) => l.msg.startsWith('shutdown:'));

async function quitCalls(): Promise<number> {
  const stats = await redis.server.client().info('commandstats');
  return Number(/^cmdstat_quit:calls=(\d+)/m.exec(stats)?.[1] ?? 0);
}

describe('the first SIGTERM', () => {
  it('closes gracefully with Redis up: the follower ends, QUIT is sent, exit 0', async () => {
    const { api, follower } = await startFollowed();
    const quitsBefore = await quitCalls();
    const { exit, ms } = await terminate(api);
    expect(exit, api.output()).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(EXIT_WITHIN_MS);
    // The stream is over: it ends or is cut, either way the follower is not left waiting.
    await follower.rest().catch(() => null);
    expect(await quitCalls()).toBeGreaterThan(quitsBefore);
    expect(failures(api)).toEqual([]);
    expect(api.logs.some((l) => l.msg === 'gpufleet API stopped')).toBe(true);
  });

  it('exits 0 with Redis hung (SIGSTOP), waiting no longer than the QUIT bound', async () => {
    const { api } = await startFollowed();
    process.kill(redis.server.pid, 'SIGSTOP');
    try {
      const { exit, ms } = await terminate(api);
      expect(exit, api.output()).toEqual({ code: 0, signal: null });
      // QUIT is given SHUTDOWN_QUIT_MS; nothing else may wait on the hung Redis.
      expect(ms).toBeLessThan(SHUTDOWN_QUIT_MS + 1000);
    } finally {
      process.kill(redis.server.pid, 'SIGCONT');
    }
    expect(api.logs.some((l) => l.msg === 'gpufleet API stopped')).toBe(true);
  });

  it('exits 0 within seconds with Redis gone, each failed step logged once with its cause', async () => {
    const { api } = await startFollowed();
    await redis.server.kill('SIGKILL');
    await api.waitForLog((l) => l.msg === 'redis unreachable');
    const { exit } = await terminate(api);
    expect(exit, api.output()).toEqual({ code: 0, signal: null });
    expect(api.logs.some((l) => l.msg === 'gpufleet API stopped')).toBe(true);
    const failed = failures(api);
    expect(new Set(failed.map((l) => l.msg)).size).toBe(failed.length);
    for (const line of failed) expect(line['err'], JSON.stringify(line)).toBeDefined();
  });
});
