// The host ports of service tasks on a real tracker and Redis (fixtures/services/svc-tcp, two ports
// each): a GPUFLEET_PORT_RANGE that runs out makes the next service wait, `waiting-for-port` with a
// reason naming the range and no endpoints, until a cancel gives ports back; a port of the range
// that another program on the host holds is skipped; and a cancel kills the service's whole
// process tree (its `sleep` child too), not only the process the tracker started.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cancelTask, enqueue, getTask, parseTaskEvent, queueKeys, type TaskRecord } from '@gpufleet/core';
import { askLine, endpointPort, uniquePrefix, useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import type { PortRange } from '../src/service/service-config.js';
import { FIXTURE_EXECUTERS, startTestTracker, useTrackers, waitForFinal } from './helpers/fleet.js';
import { freeRange, SERVICES } from './helpers/services.js';
import { nextEvent } from './helpers/tracker-events.js';
import { processAlive } from './helpers/tracker-process.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();
const WAIT_MS = 30_000;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A server of "another program" on the host holding the port, on every IPv4 address. */
async function hold(port: number): Promise<Server> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '0.0.0.0' }, resolve);
  });
  return server;
}

async function serviceTracker(portRange: PortRange) {
  const prefix = uniquePrefix();
  const workDir = await temp.make();
  const tracker = await startTestTracker({
    redisUrl: redis.server.url,
    prefix,
    artifactDir: await temp.make(),
    workDir,
    executerPaths: [FIXTURE_EXECUTERS, SERVICES],
    cpuSlots: 2,
    advertiseHost: 'svc-host',
    serviceCheckMs: 0,
    shutdownGraceMs: 0, // services run until stopped: the tracker's close stops them at once
    portRange,
  });
  trackers.push(tracker);
  const client = redis.server.client();
  const keys = queueKeys(prefix, 'default');
  const submit = async (params: Record<string, unknown> = {}): Promise<string> =>
    (await enqueue({ redis: client, prefix }, { executer: 'svc-tcp', params })).id;
  const record = async (id: string): Promise<TaskRecord> => (await getTask(client, keys, id)) as TaskRecord;
  const ready = (id: string) => nextEvent(tracker, 'service-ready', (e) => e.taskId === id, WAIT_MS);
  return { tracker, client, keys, workDir, submit, record, ready };
}

const portsOf = (endpoints: Readonly<Record<string, string>>): number[] =>
  Object.values(endpoints)
    .map(endpointPort)
    .sort((a, b) => a - b);

/** PING on a service's control port. */
const ping = (endpoint: string | undefined): Promise<string> =>
  askLine('127.0.0.1', endpointPort(endpoint), 'PING');

describe('service ports', () => {
  it('makes a service wait for a port while the range is used up, and starts it on the ports a cancel gives back', async () => {
    const range = await freeRange(2);
    const { tracker, client, keys, submit, record, ready } = await serviceTracker(range);
    const first = await submit();
    const firstReady = await ready(first);
    expect(portsOf(firstReady.endpoints)).toEqual([range.low, range.high]);

    const second = await submit();
    const secondReady = ready(second);
    secondReady.catch(() => undefined); // awaited below; not an unhandled rejection if the test fails first
    const waiting = await nextEvent(tracker, 'service-waiting-for-port', (e) => e.taskId === second, WAIT_MS);
    const rangeText = `GPUFLEET_PORT_RANGE ${range.low}-${range.high}`;
    expect(waiting.reason).toContain(rangeText);
    expect(waiting.reason).toMatch(/for 2 ports: 2 given to 1 other service/);
    const held = await record(second);
    expect(held.status).toBe('running');
    expect(held.service).toMatchObject({ state: 'waiting-for-port', endpoints: null, readyAt: null });
    expect(held.service?.reason).toContain(rangeText);
    expect(await client.hget(keys.task(second), 'endpoints')).toBe('');
    const entries = (await client.xrange(keys.events, '-', '+'))
      .map(([entry, fields]) => parseTaskEvent(entry, fields))
      .filter((e) => e?.taskId === second && e.service);
    expect(entries.map((e) => [e?.service, e?.endpoints])).toEqual([['waiting-for-port', undefined]]);
    expect(await ping(firstReady.endpoints['control'])).toBe('PONG'); // the first still runs

    await cancelTask(client, keys, first, Date.now());
    expect((await waitForFinal(client, keys, first)).status).toBe('cancelled');
    const late = await secondReady;
    expect(portsOf(late.endpoints)).toEqual([range.low, range.high]);
    expect(await ping(late.endpoints['control'])).toBe('PONG');
    expect((await record(second)).service).toMatchObject({ state: 'ready', endpoints: late.endpoints });
  }, 90_000);

  it('skips a port of the range that another program on the host holds', async () => {
    const range = await freeRange(4);
    await hold(range.low); // before the tracker starts
    const { submit, record, ready } = await serviceTracker(range);
    const id = await submit();
    const got = await ready(id);
    const ports = portsOf(got.endpoints);
    expect(ports).not.toContain(range.low);
    expect(ports).toEqual([range.low + 1, range.low + 2]); // the next ones round the range
    expect(await ping(got.endpoints['control'])).toBe('PONG');
    expect((await record(id)).service).toMatchObject({ state: 'ready', restarts: 0 });
  }, 60_000);

  it('kills the whole process tree of a cancelled service, its child too', async () => {
    const { client, keys, workDir, submit, record, ready } = await serviceTracker(await freeRange(4));
    const id = await submit({ child: 1 });
    await ready(id);
    const { attempt } = await record(id);
    const pid = Number(await client.hget(keys.task(id), 'pid'));
    const pidFile = join(workDir, 'tasks', `${id}.${attempt}`, 'outputs', 'child.pid');
    const child = Number(await readFile(pidFile, 'utf8'));
    expect(child).toBeGreaterThan(0);
    expect(child).not.toBe(pid);
    expect(processAlive(child)).toBe(true);
    expect(processAlive(pid)).toBe(true);

    await cancelTask(client, keys, id, Date.now());
    expect((await waitForFinal(client, keys, id)).status).toBe('cancelled');
    // Gone once the cancel has settled the task (a moment's margin for the kernel to reap it).
    await waitFor(() => !processAlive(child), {
      timeoutMs: 1000,
      message: `the service's child ${child} outlived the cancel`,
    });
    expect(processAlive(pid)).toBe(false);
  }, 60_000);
});
