// GPU health on real trackers, against a fake nvidia-smi and a kernel log the test appends to: an
// Xid 79 in the middle of a task holds its GPU unhealthy, stops the task and hands it back with
// GPU_ERROR, its attempt not counted, and it then succeeds on the other GPU; a GPU that vanishes
// from nvidia-smi's answer, or that it cannot reach, or whose uncorrectable ECC count rises, is
// held unhealthy too, and its task runs on another tracker; a task that fails by itself as its GPU
// faults is handed back the same way. An Xid that is the application's fault (13) is only logged,
// and an nvidia-smi that fails is logged once and drains nothing.
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { enqueue, getTask, listTrackers, type GpuHoldInfo, type TaskSpec } from '@gpufleet/core';
import {
  DRIVER_NOT_LOADED,
  fakeGpu,
  fakeMachine,
  installFakeNvidiaSmi,
  uniquePrefix,
  useRedis,
  useTempDirs,
  waitFor,
  type FakeGpu,
  type FakeNvidiaSmi,
} from '@gpufleet/testkit';
import { loadTrackerConfig } from '@gpufleet/tracker';
import { startFakeGpuTracker } from './helpers/fake-gpu-tracker.js';
import { useTrackers, waitForFinal } from './helpers/fleet.js';
import { nextEvent, recordEvents } from './helpers/tracker-events.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();

type Line = { level: number; msg: string } & Record<string, unknown>;
const GPUS = [fakeGpu('H100', 0), fakeGpu('H100', 1)];

/** The kernel log line of Xid `xid` for `gpu`, as the driver writes it (and syslog before it). */
const xidLine = (gpu: FakeGpu, xid: number, what: string): string =>
  `May 18 19:02:39 gpu-host kernel: NVRM: Xid (PCI:${gpu.pciBusId.slice(4, 14).toLowerCase()}): ${xid}, pid=4242, name=python, ${what}\n`;

/** A tracker of `gpus` (by index: GPUFLEET_GPUS) on `smi`, whose log lines are kept in `lines`. */
async function trackerOn(smi: FakeNvidiaSmi, gpus: number[], env: Record<string, string> = {}) {
  const lines: Line[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Line) });
  const { tracker, prefix } = await startFakeGpuTracker({
    redis: redis.server,
    temp,
    trackers,
    smi,
    gpus,
    logger,
    env: {
      REDIS_CONSUMER_NAME: uniquePrefix('health'),
      GPUFLEET_GPU_HEALTH_MS: '50',
      GPUFLEET_HEARTBEAT_MS: '100',
      GPUFLEET_KILL_GRACE_MS: '1000',
      ...env,
    },
  });
  const client = redis.server.client();
  const submit = async (params: Record<string, unknown> = {}, spec: Partial<TaskSpec> = {}) =>
    (await enqueue({ redis: client, prefix }, { executer: 'probe', gpus: 1, params, ...spec })).id;
  /** The GPU holds the tracker last published, once `match` passes. */
  const holds = (match: (h: GpuHoldInfo[]) => boolean, message: string): Promise<GpuHoldInfo[]> =>
    waitFor(
      async () => {
        const info = (await listTrackers(client, tracker.keys)).find((t) => t.name === tracker.name);
        const found = info?.gpuHolds ?? [];
        return info && match(found) && found;
      },
      { message },
    );
  return { tracker, client, prefix, submit, holds, lines };
}

/** Waits until the fake has answered `n` more health checks than now (than `since`, if given). */
async function healthChecks(smi: FakeNvidiaSmi, n: number, since?: number): Promise<void> {
  const count = async () =>
    (await smi.calls()).filter((c) => c[0]?.includes('ecc.errors.uncorrected.volatile.total')).length;
  const start = since ?? (await count());
  await waitFor(async () => (await count()) >= start + n, { message: `${n} health checks` });
}

async function smiOf(gpus: FakeGpu[]): Promise<FakeNvidiaSmi> {
  return installFakeNvidiaSmi(await temp.make(), fakeMachine(gpus));
}

describe('GPU health: Xid errors in the kernel log', () => {
  it('stops a task whose GPU reports Xid 79, hands it back with GPU_ERROR uncounted, and runs it on the other GPU', async () => {
    const gpu0 = GPUS[0] as FakeGpu;
    const gpu1 = GPUS[1] as FakeGpu;
    const xidLog = join(await temp.make(), 'kern.log');
    // History: what the log held before the tracker started is not read (GPU 1 stays in use).
    await writeFile(xidLog, xidLine(gpu1, 79, 'GPU has fallen off the bus.'));
    const smi = await smiOf(GPUS);
    const { tracker, client, submit, holds } = await trackerOn(smi, [0, 1], { GPUFLEET_XID_LOG: xidLog });
    await healthChecks(smi, 1, 0);
    const events = recordEvents(tracker, ['gpu-unhealthy', 'handed-back']);
    const id = await submit({ sleepMs: 1500 }, { maxAttempts: 1 });
    const spawned = await nextEvent(tracker, 'spawned', (e) => e.taskId === id);
    expect(spawned.gpuIds).toEqual([0]);
    const handedBack = nextEvent(tracker, 'handed-back', (e) => e.taskId === id);
    await appendFile(xidLog, xidLine(gpu0, 79, 'GPU has fallen off the bus.'));
    const reason =
      'Xid 79 (the GPU has fallen off the bus): pid=4242, name=python, GPU has fallen off the bus.';
    expect(await handedBack).toEqual({
      taskId: id,
      attempt: 1,
      reason: `GPU 0 (00000000:18:00.0) failed under the task: ${reason} on tracker "${tracker.name}"; requeued, the attempt not counted`,
      handedBack: true,
      started: true,
      errorCode: 'GPU_ERROR',
    });
    expect(events.filter((e) => e.name === 'gpu-unhealthy').map((e) => e.payload)).toEqual([
      { gpu: 0, reason, taskIds: [id] },
    ]);
    // maxAttempts 1, yet it runs again: the attempt the fault ended does not count.
    expect(await waitForFinal(client, tracker.keys, id)).toMatchObject({
      status: 'succeeded',
      attempt: 2,
      maxAttempts: 1,
      gpuIds: [1],
      errorCode: null,
    });
    expect(await holds((h) => h.length === 1, 'GPU 0 held')).toEqual([
      { index: 0, kind: 'unhealthy', reason },
    ]);
    // The GPU is never given out again.
    for (let i = 0; i < 3; i++)
      expect((await waitForFinal(client, tracker.keys, await submit())).gpuIds).toEqual([1]);
  });

  it('only logs an Xid that is the application’s fault (13), and the task ends as its process did', async () => {
    const gpu0 = GPUS[0] as FakeGpu;
    const xidLog = join(await temp.make(), 'kern.log');
    await writeFile(xidLog, '');
    const smi = await smiOf(GPUS);
    const { tracker, client, submit, lines } = await trackerOn(smi, [0, 1], { GPUFLEET_XID_LOG: xidLog });
    await healthChecks(smi, 1, 0);
    const events = recordEvents(tracker, ['gpu-unhealthy', 'handed-back']);
    const id = await submit({ sleepMs: 1500 });
    await nextEvent(tracker, 'spawned', (e) => e.taskId === id);
    await appendFile(xidLog, xidLine(gpu0, 13, 'Graphics SM Warp Exception on (GPC 0, TPC 0, SM 0)'));
    const logged = await waitFor(() => lines.find((l) => l.msg.startsWith('Xid 13 on GPU 0')));
    expect(logged).toMatchObject({ gpu: 0, xid: 13, taskIds: [id] });
    expect(await waitForFinal(client, tracker.keys, id)).toMatchObject({
      status: 'succeeded',
      attempt: 1,
      gpuIds: [0],
    });
    await healthChecks(smi, 2);
    expect(events).toEqual([]);
    expect(tracker.pool.heldGpus.size).toBe(0);
  });

  it('hands back a task that failed by itself as its GPU faulted, looking again before it settles', async () => {
    const gpu0 = GPUS[0] as FakeGpu;
    const xidLog = join(await temp.make(), 'kern.log');
    await writeFile(xidLog, '');
    const smi = await smiOf(GPUS);
    // One look at start, then none for a minute: only the look a failed attempt asks for sees the Xid.
    const { tracker, client, submit } = await trackerOn(smi, [0], {
      GPUFLEET_XID_LOG: xidLog,
      GPUFLEET_GPU_HEALTH_MS: '60000',
    });
    await healthChecks(smi, 1, 0);
    const id = await submit({ sleepMs: 1000, exitCode: 3 }, { maxAttempts: 1 });
    await nextEvent(tracker, 'spawned', (e) => e.taskId === id);
    const handedBack = nextEvent(tracker, 'handed-back', (e) => e.taskId === id);
    await appendFile(xidLog, xidLine(gpu0, 94, 'Contained: SM (0x1). RST: No, D-RST: No'));
    expect(await handedBack).toMatchObject({ errorCode: 'GPU_ERROR', handedBack: true });
    // The only GPU is unhealthy: it waits, first in line, for another tracker.
    expect(await getTask(client, tracker.keys, id)).toMatchObject({
      status: 'queued',
      attempt: 1,
      errorCode: 'GPU_ERROR',
      error: expect.stringContaining(
        'GPU 0 (00000000:18:00.0) failed under the task: Xid 94 (contained ECC error',
      ) as unknown,
    });
  });
});

describe('GPU health: what nvidia-smi says', () => {
  it('holds a GPU that vanished from nvidia-smi, requeues its task with GPU_ERROR, and another tracker runs it', async () => {
    const gpu1 = GPUS[1] as FakeGpu;
    const smi = await smiOf(GPUS);
    const { tracker, client, prefix, submit, holds } = await trackerOn(smi, [0]);
    const id = await submit({ sleepMs: 3000 }, { maxAttempts: 1 });
    await nextEvent(tracker, 'spawned', (e) => e.taskId === id);
    const handedBack = nextEvent(tracker, 'handed-back', (e) => e.taskId === id);
    await smi.setState(fakeMachine([gpu1]));
    expect(await handedBack).toMatchObject({ errorCode: 'GPU_ERROR', handedBack: true });
    const reason = 'fell off the bus: nvidia-smi no longer lists it';
    expect(await holds((h) => h.length === 1, 'GPU 0 held')).toEqual([
      { index: 0, kind: 'unhealthy', reason },
    ]);
    const waiting = await getTask(client, tracker.keys, id);
    expect(waiting).toMatchObject({ status: 'queued', attempt: 1, maxAttempts: 1, errorCode: 'GPU_ERROR' });
    expect(waiting?.error).toBe(
      `GPU 0 (00000000:18:00.0) failed under the task: ${reason} on tracker "${tracker.name}"; requeued, the attempt not counted`,
    );
    // A tracker whose GPU is healthy takes it; the held one never does.
    const other = await trackerOn(await smiOf([gpu1]), [0], { GPUFLEET_PREFIX: prefix });
    const done = await waitForFinal(client, tracker.keys, id, 45_000);
    expect(done).toMatchObject({
      status: 'succeeded',
      attempt: 2,
      maxAttempts: 1,
      tracker: other.tracker.name,
    });
  }, 60_000);

  it('holds a GPU nvidia-smi cannot reach any more (lost), naming what it said', async () => {
    const smi = await smiOf(GPUS);
    const { holds } = await trackerOn(smi, [0, 1]);
    await smi.setState(fakeMachine([GPUS[0] as FakeGpu, { ...(GPUS[1] as FakeGpu), lost: true }]));
    expect(await holds((h) => h.length === 1, 'GPU 1 held')).toEqual([
      {
        index: 1,
        kind: 'unhealthy',
        reason: 'fell off the bus: Unable to determine the device handle for GPU0000:29:00.0: Unknown Error',
      },
    ]);
  });

  it('holds a GPU whose uncorrectable ECC count rose since the tracker started, not one that had errors before', async () => {
    const gpus = [
      fakeGpu('H100', 0, { eccUncorrectedVolatile: 3 }),
      fakeGpu('T4', 1, { eccUncorrectedVolatile: null }),
    ];
    const smi = await smiOf(gpus);
    const { client, tracker, submit, holds } = await trackerOn(smi, [0, 1]);
    await healthChecks(smi, 3, 0);
    expect(tracker.pool.heldGpus.size).toBe(0);
    await smi.setState(
      fakeMachine([{ ...(gpus[0] as FakeGpu), eccUncorrectedVolatile: 5 }, gpus[1] as FakeGpu]),
    );
    expect(await holds((h) => h.length === 1, 'GPU 0 held')).toEqual([
      {
        index: 0,
        kind: 'unhealthy',
        reason:
          '2 uncorrectable ECC errors since the tracker started (ecc.errors.uncorrected.volatile.total 3 → 5)',
      },
    ]);
    expect((await waitForFinal(client, tracker.keys, await submit())).gpuIds).toEqual([1]);
  });

  it('logs a failing nvidia-smi once, drains nothing, and says when it works again', async () => {
    const smi = await smiOf(GPUS);
    const { client, tracker, submit, lines } = await trackerOn(smi, [0, 1]);
    await healthChecks(smi, 1, 0);
    await smi.setState(fakeMachine(GPUS, { fail: DRIVER_NOT_LOADED }));
    await healthChecks(smi, 4);
    const failed = lines.filter((l) => l.msg.startsWith('GPU health check failed'));
    expect(failed).toHaveLength(1);
    expect(failed[0]?.['cause']).toMatch(/exited with code 9: NVIDIA-SMI has failed/);
    expect(tracker.pool.heldGpus.size).toBe(0);
    await smi.setState(fakeMachine(GPUS));
    await waitFor(() => lines.some((l) => l.msg === 'GPU health checks resumed'));
    expect(await waitForFinal(client, tracker.keys, await submit())).toMatchObject({ status: 'succeeded' });
  });
});

describe('GPU health settings', () => {
  const BASE = { GPUFLEET_EXECUTERS: '.' };
  const issuesOf = (env: Record<string, string>): unknown => {
    try {
      loadTrackerConfig({ ...BASE, ...env }, '/srv');
    } catch (error) {
      return (error as { issues?: unknown }).issues;
    }
    return [];
  };

  it('checks every 5 s and reads no Xid log by default, and takes what it is given', () => {
    expect(loadTrackerConfig(BASE, '/srv')).toMatchObject({ gpuHealthMs: 5000, xidLog: null });
    const set = loadTrackerConfig({
      ...BASE,
      GPUFLEET_GPU_HEALTH_MS: '0',
      GPUFLEET_XID_LOG: '/var/log/kern.log',
    });
    expect(set).toMatchObject({ gpuHealthMs: 0, xidLog: '/var/log/kern.log' });
  });

  it('refuses a bad value at start, naming the variable', async () => {
    for (const value of ['soon', '-1', '10', '3600001']) {
      expect(issuesOf({ GPUFLEET_GPU_HEALTH_MS: value })).toEqual([
        { field: 'GPUFLEET_GPU_HEALTH_MS', reason: expect.stringContaining(value) as unknown },
      ]);
    }
    for (const value of ['kern.log', await temp.make()]) {
      expect(issuesOf({ GPUFLEET_XID_LOG: value })).toEqual([
        { field: 'GPUFLEET_XID_LOG', reason: expect.stringContaining(value) as unknown },
      ]);
    }
  });
});
