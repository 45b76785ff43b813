// GPU pinning on a tracker with an allowed GPU list: one task per free GPU, CUDA_VISIBLE_DEVICES
// names exactly the task's GPUs (by nvidia-smi's indices: CUDA_DEVICE_ORDER=PCI_BUS_ID), multi-GPU tasks get distinct ids, and a task bigger than every
// live tracker waits for a bigger one or ends dead with the shortfall.
import { describe, expect, it } from 'vitest';
import { enqueue, queueKeys, readArtifact, type ArtifactStore, type TaskRecord } from '@gpufleet/core';
import { LocalArtifactStore } from '@gpufleet/core';
import { uniquePrefix, useRedis, useTempDirs } from '@gpufleet/testkit';
import type { Tracker } from '@gpufleet/tracker';
import { startTestTracker, useTrackers, waitForFinal, type TestTrackerOptions } from './helpers/fleet.js';
import { nextEvent } from './helpers/tracker-events.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();

interface Report {
  cudaVisibleDevices: string;
  cudaDeviceOrder: string;
  gpuIds: string;
  startedAt: number;
  endedAt: number;
}

async function setup(): Promise<{ base: Omit<TestTrackerOptions, 'gpuIds'>; store: ArtifactStore }> {
  const artifactDir = await temp.make();
  return {
    base: { redisUrl: redis.server.url, prefix: uniquePrefix(), artifactDir, workDir: await temp.make() },
    store: new LocalArtifactStore(artifactDir),
  };
}

async function start(options: TestTrackerOptions): Promise<Tracker> {
  const tracker = await startTestTracker(options);
  trackers.push(tracker);
  return tracker;
}

async function report(store: ArtifactStore, task: TaskRecord): Promise<Report> {
  return JSON.parse(
    (await readArtifact(store, `${task.outputs?.prefix}/report.json`)).toString('utf8'),
  ) as Report;
}

describe('GPU slots', () => {
  it('takes the next task at once when another tracker takes the first in line, which did not fit here', async () => {
    const { base } = await setup();
    const client = redis.server.client();
    const keys = queueKeys(base.prefix, 'default');
    const deps = { redis: client, prefix: base.prefix };
    const submit = async (gpus: number, sleepMs: number): Promise<string> =>
      (await enqueue(deps, { executer: 'probe', gpus, params: { sleepMs } })).id;
    // B's two GPUs are busy for ~1.5 s. Then, in line: a long 1-GPU task, a 2-GPU task and a 1-GPU
    // one. A starts, takes the first, and with one GPU free must wait for the 2-GPU task; when B's
    // task ends, B takes it, and A must take the 1-GPU task behind it at once.
    const trackerB = await start({ ...base, consumerName: 'tracker-b', gpuIds: [0, 1] });
    const spawnedB = nextEvent(trackerB, 'spawned');
    await submit(2, 1500);
    await spawnedB;
    await submit(1, 4000);
    const first = await submit(2, 100);
    const second = await submit(1, 100);
    await start({ ...base, consumerName: 'tracker-a', gpuIds: [0, 1] });
    const [a, b] = await Promise.all([waitForFinal(client, keys, first), waitForFinal(client, keys, second)]);
    expect([a.tracker, b.tracker]).toEqual(['tracker-b', 'tracker-a']);
    // In line: not before the 2-GPU task; and not up to a second (A's block) later, as on a timer.
    expect(b.startedAt ?? 0).toBeGreaterThanOrEqual(a.startedAt ?? 0);
    expect((b.startedAt ?? 0) - (a.startedAt ?? 0)).toBeLessThan(250);
  });

  it('runs one task per GPU with CUDA_VISIBLE_DEVICES set, and the third only when one ends', async () => {
    const { base, store } = await setup();
    await start({ ...base, gpuIds: [0, 1] });
    const client = redis.server.client();
    const keys = queueKeys(base.prefix, 'default');
    const deps = { redis: client, prefix: base.prefix };
    const ids = [];
    for (let i = 0; i < 3; i++)
      ids.push((await enqueue(deps, { executer: 'probe', gpus: 1, params: { sleepMs: 700 } })).id);
    const tasks = await Promise.all(ids.map((id) => waitForFinal(client, keys, id)));
    expect(tasks.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const reports = await Promise.all(tasks.map((t) => report(store, t)));
    const [a, b, c] = reports as [Report, Report, Report];
    expect([a.cudaVisibleDevices, b.cudaVisibleDevices].sort()).toEqual(['0', '1']);
    expect(a.gpuIds).toBe(a.cudaVisibleDevices);
    expect(reports.map((r) => r.cudaDeviceOrder)).toEqual(['PCI_BUS_ID', 'PCI_BUS_ID', 'PCI_BUS_ID']);
    // The first two overlapped in time; the third started only after one of them ended.
    expect(Math.max(a.startedAt, b.startedAt)).toBeLessThan(Math.min(a.endedAt, b.endedAt));
    expect(c.startedAt).toBeGreaterThanOrEqual(Math.min(a.endedAt, b.endedAt));
    expect(['0', '1']).toContain(c.cudaVisibleDevices);
    expect(tasks[0]?.gpuIds).toHaveLength(1);
  });

  it('gives a 2-GPU task two distinct GPU ids', async () => {
    const { base, store } = await setup();
    await start({ ...base, gpuIds: [0, 1, 3] });
    const client = redis.server.client();
    const { id } = await enqueue({ redis: client, prefix: base.prefix }, { executer: 'probe', gpus: 2 });
    const task = await waitForFinal(client, queueKeys(base.prefix, 'default'), id);
    expect(task.status).toBe('succeeded');
    const seen = (await report(store, task)).cudaVisibleDevices.split(',');
    expect(seen).toHaveLength(2);
    expect(new Set(seen).size).toBe(2);
    expect(seen.every((g) => ['0', '1', '3'].includes(g))).toBe(true);
  });

  it('runs a 3-GPU task when a 3-GPU tracker joins within the wait', async () => {
    const { base, store } = await setup();
    const small = await start({ ...base, gpuIds: [0, 1], unschedulableMs: 4000 });
    const client = redis.server.client();
    const keys = queueKeys(base.prefix, 'default');
    const { id } = await enqueue({ redis: client, prefix: base.prefix }, { executer: 'probe', gpus: 3 });
    // Two unschedulable checks: the second began after the task was queued, and left it waiting.
    for (let check = 0; check < 2; check++)
      expect((await nextEvent(small, 'unschedulable-checked')).deadLettered).toBe(0);
    expect((await waitForFinal(client, keys, id, 1).catch(() => null))?.status).toBeUndefined();
    await start({ ...base, consumerName: 'big-tracker', gpuIds: [0, 1, 2], unschedulableMs: 4000 });
    const task = await waitForFinal(client, keys, id);
    expect(task.status).toBe('succeeded');
    expect(task.tracker).toBe('big-tracker');
    expect((await report(store, task)).cudaVisibleDevices).toBe('0,1,2');
  });

  it('ends a 3-GPU task dead, naming the shortfall, when no tracker big enough joins', async () => {
    const { base } = await setup();
    await start({ ...base, gpuIds: [0, 1], unschedulableMs: 800 });
    const client = redis.server.client();
    const keys = queueKeys(base.prefix, 'default');
    const { id } = await enqueue({ redis: client, prefix: base.prefix }, { executer: 'probe', gpus: 3 });
    const task = await waitForFinal(client, keys, id);
    expect(task.status).toBe('dead');
    expect(task.errorCode).toBe('UNSCHEDULABLE');
    expect(task.error).toMatch(/needs 3 GPUs, but the largest live tracker of queue "default" has 2/);
    const dead = await client.xrange(keys.dead, '-', '+');
    expect(dead.map(([, f]) => f[1])).toEqual([id]);
  });
});
