// A service task whose tracker dies, with trackers as separate processes (SIGKILL is real): the
// service is ready on tracker-a (advertised as host-a), tracker-a is killed, the service process
// dies with it (its port stops answering), the task comes back on tracker-b once tracker-a's
// liveness lapses, with a new `ready` entry in the queue's events stream naming host-b. The task's
// record never shows host-a's endpoints once the attempt has moved on (they are withdrawn no later
// than the re-claim), and a controller following the events stream (fixtures/services/
// controller.mjs, a separate Node process) loses host-a and talks to the service on host-b.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { getTask, parseTaskEvent, type TaskEvent } from '@gpufleet/core';
import { endpointPort, portAnswers, useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { useFaultFleets, type FaultFleet } from './helpers/fault-fleet.js';
import { FIXTURE_EXECUTERS } from './helpers/fleet.js';
import { freeRange, SERVICES } from './helpers/services.js';
import { processAlive } from './helpers/tracker-process.js';

const CONTROLLER = fileURLToPath(new URL('./fixtures/services/controller.mjs', import.meta.url));
const redis = useRedis();
const temp = useTempDirs();
const newFleet = useFaultFleets(redis, temp);
const WAIT_MS = 30_000;

/** What this test started beside the trackers (the controller), and the services it saw: killed after it. */
const started: ChildProcess[] = [];
const servicePids: number[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const pid of servicePids.splice(0)) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
});

/** A tracker process's settings: the service fixtures, its own advertised host and 4 ports. */
function trackerEnv(host: string, low: number): Record<string, string> {
  return {
    GPUFLEET_EXECUTERS: `${FIXTURE_EXECUTERS}:${SERVICES}`,
    GPUFLEET_ADVERTISE_HOST: host,
    GPUFLEET_PORT_RANGE: `${low}-${low + 3}`,
    GPUFLEET_SERVICE_CHECK_MS: '0',
  };
}

/** The task's entries of the queue's events stream, in order. */
async function eventsOf(fleet: FaultFleet, id: string): Promise<TaskEvent[]> {
  return (await fleet.client.xrange(fleet.keys.events, '-', '+'))
    .map(([entry, fields]) => parseTaskEvent(entry, fields))
    .filter((e): e is TaskEvent => e?.taskId === id);
}

/** The task's `ready` entry whose control endpoint is on `host`, once there is one. */
function readyOn(fleet: FaultFleet, id: string, host: string): Promise<TaskEvent> {
  return waitFor(
    async () =>
      (await eventsOf(fleet, id)).find(
        (e) => e.service === 'ready' && e.endpoints?.['control']?.startsWith(`${host}:`),
      ),
    { timeoutMs: WAIT_MS, intervalMs: 50, message: `no ready entry on ${host}` },
  );
}

/** The controller, following the task's ready entries; its JSON lines collect in `lines`. */
function startController(fleet: FaultFleet, id: string) {
  const child = spawn(process.execPath, [CONTROLLER, redis.server.url, fleet.keys.events, id], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const lines: Array<Record<string, string>> = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(JSON.parse(l)));
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  const saw = (key: string, host: string): Promise<Record<string, string>> =>
    waitFor(() => lines.find((l) => l[key]?.startsWith(`${host}:`)), {
      timeoutMs: WAIT_MS,
      message: `the controller saw no ${key} on ${host}: ${JSON.stringify(lines)} ${stderr.join('\n')}`,
    });
  return { lines, saw };
}

/**
 * Reads the task's attempt and endpoints (one HMGET: as of one moment) every 10 ms until stopped,
 * and once more then, keeping each reading.
 */
function sampleRecord(fleet: FaultFleet, id: string) {
  const samples: Array<{ attempt: number; endpoints: string; state: string }> = [];
  const sample = async (): Promise<void> => {
    const [attempt, endpoints, state] = await fleet.client.hmget(
      fleet.keys.task(id),
      'attempt',
      'endpoints',
      'serviceState',
    );
    samples.push({ attempt: Number(attempt), endpoints: endpoints ?? '', state: state ?? '' });
  };
  let running = true;
  const done = (async () => {
    while (running) {
      await sample();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await done;
      await sample();
    },
  };
}

describe('a service whose tracker is killed', () => {
  it('dies with it, withdraws its endpoints by the re-claim, and comes back ready on another tracker', async () => {
    const fleet = await newFleet();
    await fleet.pastRestartGuard(); // a takeover is what this test waits for, not Redis's restart guard
    const { low } = await freeRange(8);
    const a = await fleet.start('tracker-a', trackerEnv('host-a', low));
    const id = await fleet.submit({ executer: 'svc-tcp' });
    const onA = await readyOn(fleet, id, 'host-a');
    expect(onA).toMatchObject({ attempt: 1, tracker: 'tracker-a' });
    const portA = endpointPort(onA.endpoints?.['control']);
    const pidA = Number(await fleet.client.hget(fleet.keys.task(id), 'pid'));
    servicePids.push(pidA);
    expect(processAlive(pidA)).toBe(true);
    expect((await getTask(fleet.client, fleet.keys, id))?.service).toMatchObject({
      state: 'ready',
      endpoints: onA.endpoints,
    });
    // tracker-b joins only now: the task is tracker-a's.
    const b = await fleet.start('tracker-b', trackerEnv('host-b', low + 4));
    const controller = startController(fleet, id);
    await controller.saw('pong', 'host-a');

    const sampler = sampleRecord(fleet, id);
    a.signal('SIGKILL');
    await a.exited;
    // The service goes with its tracker: its process, and so its port, within a bounded time.
    await waitFor(async () => !(await portAnswers(portA)), {
      timeoutMs: 5000,
      intervalMs: 50,
      message: `the service of the SIGKILLed tracker-a (pid ${pidA}) still answers on port ${portA}`,
    });
    await waitFor(() => !processAlive(pidA), {
      timeoutMs: 5000,
      message: `the service of the SIGKILLed tracker-a (pid ${pidA}) still runs`,
    });
    await controller.saw('lost', 'host-a');

    const onB = await readyOn(fleet, id, 'host-b');
    await sampler.stop();
    expect(onB).toMatchObject({ attempt: 2, tracker: 'tracker-b' });
    const portB = endpointPort(onB.endpoints?.['control']);
    expect(portB).toBeGreaterThanOrEqual(low + 4);
    servicePids.push(Number(await fleet.client.hget(fleet.keys.task(id), 'pid')));
    expect(await portAnswers(portB)).toBe(true);
    expect(b.logs.some((l) => l.event === 'requeued-orphan' && l.taskId === id)).toBe(true);
    const now = await getTask(fleet.client, fleet.keys, id);
    expect(now).toMatchObject({ status: 'running', attempt: 2, tracker: 'tracker-b' });
    expect(now?.service).toMatchObject({ state: 'ready', endpoints: onB.endpoints });

    // The record: host-a's endpoints never under a later attempt (withdrawn by the re-claim at the latest).
    const moved = sampler.samples.filter((s) => s.attempt >= 2);
    expect(moved.length).toBeGreaterThan(0);
    expect(moved.filter((s) => s.endpoints.includes('host-a'))).toEqual([]);
    expect(sampler.samples.some((s) => s.endpoints.includes('host-b'))).toBe(true);
    // The events stream: one ready per attempt, each on its own tracker's host.
    const entries = await eventsOf(fleet, id);
    const ready = entries.filter((e) => e.service === 'ready');
    expect(ready.map((e) => [e.attempt, e.tracker, e.endpoints?.['control']])).toEqual([
      [1, 'tracker-a', onA.endpoints?.['control']],
      [2, 'tracker-b', onB.endpoints?.['control']],
    ]);
    const requeued = entries.findIndex((e, i) => i > entries.indexOf(ready[0]!) && e.status === 'queued');
    expect(requeued).toBeGreaterThan(0);
    expect(entries.slice(requeued).some((e) => JSON.stringify(e.endpoints ?? {}).includes('host-a'))).toBe(
      false,
    );

    // The controller followed: lost host-a, then talked to host-b.
    await controller.saw('pong', 'host-b');
    const order = controller.lines.map((l) => Object.keys(l)[0] + ' ' + Object.values(l)[0]);
    expect(order).toEqual([
      `ready ${onA.endpoints?.['control']}`,
      `pong ${onA.endpoints?.['control']}`,
      `lost ${onA.endpoints?.['control']}`,
      `ready ${onB.endpoints?.['control']}`,
      `pong ${onB.endpoints?.['control']}`,
    ]);
  }, 120_000);
});
