// Service tasks on a real tracker and Redis (test/fixtures/services: a TCP line server and an HTTP
// health server, each manifest with its own readiness check and lifetime): ports given out and
// put in the command, endpoints published only once the check passes (with a `ready` event in the
// queue's events stream) and withdrawn when it stops; each kind of check; the start timeout; the
// restart policy keeping the ports; a check failing later; the idle timeout and the maximum age.
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { cancelTask, enqueue, getTask, parseTaskEvent, queueKeys, type TaskRecord } from '@gpufleet/core';
import { askLine, endpointPort, uniquePrefix, useRedis, useTempDirs } from '@gpufleet/testkit';
import type { Tracker } from '@gpufleet/tracker';
import { FIXTURE_EXECUTERS, startTestTracker, useTrackers, waitForFinal } from './helpers/fleet.js';
import { SERVICES } from './helpers/services.js';
import { nextEvent, recordEvents, type RecordedEvent } from './helpers/tracker-events.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();

async function serviceTracker(options: { serviceCheckMs?: number; shutdownGraceMs?: number } = {}) {
  const prefix = uniquePrefix();
  const tracker = await startTestTracker({
    redisUrl: redis.server.url,
    prefix,
    artifactDir: await temp.make(),
    workDir: await temp.make(),
    executerPaths: [FIXTURE_EXECUTERS, SERVICES],
    cpuSlots: 4,
    advertiseHost: 'gpu-node-7.example',
    serviceCheckMs: options.serviceCheckMs ?? 0,
    ...options,
  });
  trackers.push(tracker);
  const client = redis.server.client();
  const keys = queueKeys(prefix, 'default');
  const submit = async (
    executer: string,
    params: Record<string, unknown> = {},
    spec: Record<string, unknown> = {},
  ): Promise<string> => (await enqueue({ redis: client, prefix }, { executer, params, ...spec })).id;
  const record = async (id: string): Promise<TaskRecord> => (await getTask(client, keys, id)) as TaskRecord;
  return { tracker, client, keys, submit, record };
}

const taskOf = (event: RecordedEvent): string | undefined => (event.payload as { taskId?: string }).taskId;

/** Sends a line to the service's control port and reads the answer. */
const ask = (port: number, line: string): Promise<string> => askLine('127.0.0.1', port, line);

async function readyOf(tracker: Tracker, taskId: string) {
  return nextEvent(tracker, 'service-ready', (e) => e.taskId === taskId);
}

describe('a service task', () => {
  it('publishes its endpoints once its TCP port accepts, with a ready event, and withdraws them when cancelled', async () => {
    const { tracker, client, keys, submit, record } = await serviceTracker();
    const id = await submit('svc-tcp', { readyDelayMs: 400 });
    const spawned = await nextEvent(tracker, 'spawned', (e) => e.taskId === id);
    expect(spawned.taskId).toBe(id);
    // Spawned but not listening yet: starting, no endpoint.
    expect((await record(id)).service).toMatchObject({ state: 'starting', endpoints: null });
    const ready = await readyOf(tracker, id);
    expect(Object.keys(ready.endpoints).sort()).toEqual(['control', 'http']);
    expect(ready.endpoints['control']).toMatch(/^gpu-node-7\.example:2\d{4}$/);
    const control = endpointPort(ready.endpoints['control']);
    expect(await ask(control, 'PING')).toBe('PONG');
    const live = await record(id);
    expect(live.service).toMatchObject({ state: 'ready', endpoints: ready.endpoints, restarts: 0 });
    expect(live.service?.readyAt).toBeGreaterThan(0);
    const events = (await client.xrange(keys.events, '-', '+'))
      .map(([entry, fields]) => parseTaskEvent(entry, fields))
      .filter((e) => e?.taskId === id && e.service);
    expect(events.map((e) => e?.service)).toEqual(['starting', 'ready']);
    expect(events[1]?.endpoints).toEqual(ready.endpoints);

    await cancelTask(client, keys, id, Date.now());
    const ended = await waitForFinal(client, keys, id);
    expect(ended.status).toBe('cancelled');
    expect(ended.service).toBeNull();
    expect(await client.hget(keys.task(id), 'endpoints')).toBe('');
    await expect(ask(control, 'PING')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('waits for GET /healthz to answer 2xx, and a service that never does fails SERVICE_NOT_READY after its restart', async () => {
    const { tracker, submit, client, keys } = await serviceTracker();
    const slow = await submit('svc-http', { readyDelayMs: 300 });
    const ready = await readyOf(tracker, slow);
    const health = await fetch(`http://127.0.0.1:${endpointPort(ready.endpoints['http'])}/healthz`);
    expect(health.status).toBe(200);
    await cancelTask(client, keys, slow, Date.now());

    const events = recordEvents(tracker, ['service-ready', 'service-restarting']);
    const never = await submit('svc-http', { readyDelayMs: 60_000 });
    const ended = await waitForFinal(client, keys, never, 20_000);
    expect(ended).toMatchObject({ status: 'failed', errorCode: 'SERVICE_NOT_READY' });
    expect(ended.error).toMatch(/not ready within its start timeout of 1500 ms: waited for GET \/healthz/);
    const mine = events.filter((e) => taskOf(e) === never);
    expect(mine.map((e) => e.name)).toEqual(['service-restarting']);
  });

  it('is ready on a matching stdout line, and ends succeeded after its idle timeout with no client', async () => {
    const { tracker, submit, client, keys } = await serviceTracker();
    const id = await submit('svc-stdout');
    const ready = await readyOf(tracker, id);
    // A client connected holds it past the idle timeout.
    const socket: Socket = connect({ host: '127.0.0.1', port: endpointPort(ready.endpoints['control']) });
    await once(socket, 'connect');
    const idle = nextEvent(tracker, 'service-stopped', (e) => e.taskId === id, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 2500)); // a span longer than the idle timeout, on purpose
    expect((await getTask(client, keys, id))?.status).toBe('running');
    const disconnectedAt = Date.now();
    socket.destroy();
    expect(await idle).toMatchObject({ why: 'idle' });
    // Idle from the last look that saw the client (looks are a second apart), so at least 0.5 s.
    expect(Date.now() - disconnectedAt).toBeGreaterThanOrEqual(400);
    const ended = await waitForFinal(client, keys, id);
    expect(ended.status).toBe('succeeded');
    expect(await client.hget(keys.task(id), 'serviceStopped')).toMatch(
      /no client connection for its idle timeout of 1500 ms/,
    );
  });

  it('ends succeeded past its maximum age', async () => {
    const { tracker, submit, client, keys } = await serviceTracker();
    const id = await submit('svc-aged');
    await readyOf(tracker, id);
    const readyAt = Date.now();
    expect(await nextEvent(tracker, 'service-stopped', (e) => e.taskId === id)).toMatchObject({
      why: 'max-age',
    });
    expect(Date.now() - readyAt).toBeGreaterThanOrEqual(1400);
    expect((await waitForFinal(client, keys, id)).status).toBe('succeeded');
  });

  it('restarts a service that exits under its policy, on the same ports, then fails when the restarts run out', async () => {
    const { tracker, submit, client, keys } = await serviceTracker();
    const events = recordEvents(tracker, ['service-ready', 'service-restarting']);
    const id = await submit('svc-tcp', { exitAfterMs: 700 });
    const ended = await waitForFinal(client, keys, id, 20_000);
    expect(ended).toMatchObject({ status: 'failed', errorCode: 'EXIT_NONZERO', exitCode: 7 });
    const mine = events.filter((e) => taskOf(e) === id);
    expect(mine.map((e) => e.name)).toEqual([
      'service-ready',
      'service-restarting',
      'service-ready',
      'service-restarting',
      'service-ready',
    ]);
    const endpoints = mine.filter((e) => e.name === 'service-ready').map((e) => JSON.stringify(e.payload));
    expect(new Set(endpoints.map((e) => JSON.parse(e).endpoints.control)).size).toBe(1);
    expect(await client.hget(keys.task(id), 'serviceRestarts')).toBe('2');
    const files = ended.outputs?.files.map((f) => f.path) ?? [];
    expect(files).toEqual(
      expect.arrayContaining(['service-runs/run-1.stdout.txt', 'service-runs/run-2.stderr.txt']),
    );
  });

  it('restarts a ready service whose check fails later', async () => {
    const { tracker, submit, client, keys } = await serviceTracker({ serviceCheckMs: 150 });
    const id = await submit('svc-http', { sickAfterMs: 800 });
    await readyOf(tracker, id);
    const restarting = await nextEvent(tracker, 'service-restarting', (e) => e.taskId === id);
    expect(restarting.reason).toMatch(/failed its readiness check 3 times in a row .*answered 500/);
    // The next run is sick again after 800 ms: with no restart left it fails as not ready.
    const ended = await waitForFinal(client, keys, id, 20_000);
    expect(ended).toMatchObject({ status: 'failed', errorCode: 'SERVICE_NOT_READY' });
  });

  it('stops at once when its tracker shuts down, without waiting out the grace, and goes back to the queue', async () => {
    const { tracker, submit, record } = await serviceTracker({ shutdownGraceMs: 20_000 });
    const id = await submit('svc-tcp');
    await readyOf(tracker, id);
    const closing = Date.now();
    await tracker.close();
    expect(Date.now() - closing).toBeLessThan(10_000); // the kill grace, not the 20 s shutdown grace
    const back = await record(id);
    expect(back).toMatchObject({ status: 'queued', service: null });
    expect(back.error).toMatch(/shut down before the task finished/);
  });

  it('ends timed_out at its time limit, its endpoints withdrawn', async () => {
    const { tracker, client, keys, submit } = await serviceTracker();
    const id = await submit('svc-tcp', {}, { timeLimitMs: 1500 });
    await readyOf(tracker, id);
    const ended = await waitForFinal(client, keys, id);
    expect(ended).toMatchObject({ status: 'timed_out', errorCode: 'TIME_LIMIT', service: null });
  });
});
