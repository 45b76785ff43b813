// Where service tasks go on a tracker with GPUs (two fake H100s, 81,559 MiB each): services of one
// GPU (fixtures/services/svc-gpu) asking for a `gpuShareMiB` share. With GPUFLEET_MAX_SHARES_PER_GPU=2
// the first two take a GPU each, the next two double up, a fifth stays queued while the four run
// (its share would fit the memory: the cap is what stops it) and starts, on the GPU the cancelled
// one left, once one is cancelled; every one that runs is ready, with ports of its own that answer.
// Without the cap, memory alone decides: a third share goes on a GPU.
import { describe, expect, it } from 'vitest';
import { cancelTask, enqueue, getTask, type TaskRecord } from '@gpufleet/core';
import {
  askLine,
  endpointPort,
  fakeGpu,
  fakeMachine,
  installFakeNvidiaSmi,
  useRedis,
  useTempDirs,
} from '@gpufleet/testkit';
import type { Tracker, TrackerEventMap } from '@gpufleet/tracker';
import { startFakeGpuTracker } from './helpers/fake-gpu-tracker.js';
import { FIXTURE_EXECUTERS, useTrackers, waitForFinal } from './helpers/fleet.js';
import { freeRange, SERVICES } from './helpers/services.js';
import { nextEvent, recordEvents } from './helpers/tracker-events.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();
/** A share small enough that eight fit one H100's memory. */
const SHARE_MIB = 10_000;
const WAIT_MS = 30_000;

async function twoH100Services(env: Record<string, string> = {}) {
  const ports = await freeRange(16);
  const smi = await installFakeNvidiaSmi(
    await temp.make(),
    fakeMachine([fakeGpu('H100', 0), fakeGpu('H100', 1)]),
  );
  const { tracker, prefix } = await startFakeGpuTracker({
    redis: redis.server,
    temp,
    trackers,
    smi,
    env: {
      GPUFLEET_EXECUTERS: `${FIXTURE_EXECUTERS}:${SERVICES}`,
      GPUFLEET_MPS: 'off',
      GPUFLEET_PORT_RANGE: `${ports.low}-${ports.high}`,
      GPUFLEET_ADVERTISE_HOST: 'gpu-box',
      GPUFLEET_SERVICE_CHECK_MS: '0',
      // Services run until stopped: closing the tracker after the test stops them at once.
      GPUFLEET_SHUTDOWN_GRACE_MS: '0',
      GPUFLEET_KILL_GRACE_MS: '1000',
      ...env,
    },
  });
  const client = redis.server.client();
  const submit = async (): Promise<string> =>
    (await enqueue({ redis: client, prefix }, { executer: 'svc-gpu', gpuShareMiB: SHARE_MIB })).id;
  const record = async (id: string): Promise<TaskRecord> =>
    (await getTask(client, tracker.keys, id)) as TaskRecord;
  return { tracker, client, submit, record };
}

/** Submits `n` tasks in order, each one's ready event waited on from the moment it exists. */
async function submitServices(tracker: Tracker, submit: () => Promise<string>, n: number) {
  const ids: string[] = [];
  const ready: Array<Promise<TrackerEventMap['service-ready']>> = [];
  for (let i = 0; i < n; i++) {
    const id = await submit();
    ids.push(id);
    const event = nextEvent(tracker, 'service-ready', (e) => e.taskId === id, 2 * WAIT_MS);
    event.catch(() => undefined); // awaited by the test; not an unhandled rejection if it fails first
    ready.push(event);
  }
  return { ids, ready };
}

/** PING on a service's control port. */
const ping = (port: number): Promise<string> => askLine('127.0.0.1', port, 'PING');

/** Every port of the ready events: distinct, each service's control port answering. */
async function expectOwnPorts(events: ReadonlyArray<{ endpoints: Readonly<Record<string, string>> }>) {
  const ports = events.flatMap((e) => Object.values(e.endpoints).map(endpointPort));
  expect(ports.every((p) => Number.isInteger(p) && p > 0)).toBe(true);
  expect(new Set(ports).size).toBe(events.length * 2);
  for (const e of events) expect(await ping(endpointPort(e.endpoints['control']))).toBe('PONG');
}

describe('service placement on shared GPUs', () => {
  it('with at most 2 shares per GPU: one per GPU, then two per GPU, and a fifth waits for a cancel', async () => {
    const { tracker, client, submit, record } = await twoH100Services({ GPUFLEET_MAX_SHARES_PER_GPU: '2' });
    const spawned = recordEvents(tracker, ['spawned']);
    const { ids, ready } = await submitServices(tracker, submit, 5);
    const fifth = ids[4]!;
    let fifthReady = false;
    void ready[4]!.then(() => (fifthReady = true)).catch(() => undefined);

    const four = await Promise.all(ready.slice(0, 4));
    const records = await Promise.all(ids.map(record));
    expect(records.slice(0, 4).map((r) => r.gpuIds)).toEqual([[0], [1], [0], [1]]);
    expect(records.slice(0, 4).map((r) => r.service?.state)).toEqual(Array(4).fill('ready'));
    expect(records[0]?.gpuRequest.shareMiB).toBe(SHARE_MIB);
    await expectOwnPorts(four);
    // Submitted before the four were even ready, and its share fits either GPU's memory
    // (2 × 10,000 of 81,559 MiB used): only the cap of 2 keeps it in line.
    expect(records[4]).toMatchObject({ status: 'queued', gpuIds: [] });
    expect(spawned.map((e) => (e.payload as { taskId: string }).taskId)).not.toContain(fifth);
    expect(fifthReady).toBe(false);

    const third = ids[2]!; // on GPU 0
    await cancelTask(client, tracker.keys, third, Date.now());
    expect((await waitForFinal(client, tracker.keys, third)).status).toBe('cancelled');
    const late = await ready[4]!;
    const started = await record(fifth);
    expect(started).toMatchObject({ status: 'running', gpuIds: [0] });
    const running = [four[0]!, four[1]!, four[3]!, late];
    await expectOwnPorts(running);
    expect(running.map((e) => e.endpoints['control'])).not.toContain(four[2]!.endpoints['control']);
  }, 90_000);

  it('without a cap, memory alone decides: a third share goes on a GPU', async () => {
    const { tracker, submit, record } = await twoH100Services();
    const { ids, ready } = await submitServices(tracker, submit, 5);
    const five = await Promise.all(ready);
    const records = await Promise.all(ids.map(record));
    expect(records.map((r) => r.gpuIds)).toEqual([[0], [1], [0], [1], [0]]);
    expect(records.map((r) => r.status)).toEqual(Array(5).fill('running'));
    await expectOwnPorts(five);
  }, 90_000);
});
