// An operator's drains on real in-process trackers (real Redis, real executer processes), written
// as the API writes them (core's setDrain / clearDrain: the drains hash and a control message):
// a drained GPU keeps its running task, then gets none of a waiting backlog (one GPU serves it all)
// until it is undrained, and then takes the next task at once; a drained tracker finishes its task
// `succeeded` and leaves the queue's tasks waiting for another tracker; the task on a drained GPU
// is never preempted (that would free no GPU); both drains survive the tracker's restart (read
// before its first take), and a GPU's drain outlives its tracker's undrain.
import { describe, expect, it } from 'vitest';
import {
  clearDrain,
  enqueue,
  getTask,
  listTrackers,
  queueKeys,
  setDrain,
  type QueueKeys,
} from '@gpufleet/core';
import { uniquePrefix, useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import type { Tracker, TrackerEventMap } from '@gpufleet/tracker';
import { startTestTracker, useTrackers, waitForFinal, type TestTrackerOptions } from './helpers/fleet.js';
import { nextEvent, recordEvents } from './helpers/tracker-events.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();

async function setup() {
  const prefix = uniquePrefix();
  const client = redis.server.client();
  const keys: QueueKeys = queueKeys(prefix, 'default');
  const base: TestTrackerOptions = {
    redisUrl: redis.server.url,
    prefix,
    artifactDir: await temp.make(),
    workDir: await temp.make(),
  };
  /** Queues a 1-GPU probe task that runs `sleepMs`. */
  const submit = async (sleepMs: number): Promise<string> =>
    (await enqueue({ redis: client, prefix }, { executer: 'probe', gpus: 1, params: { sleepMs } })).id;
  const drain = (tracker: string, gpu: number | null, reason: string) =>
    setDrain(client, keys, tracker, gpu, { reason, at: Date.now(), by: 'ops' });
  /** The tracker's entry in the registry, as the API reads it. */
  const registered = async (name: string) => (await listTrackers(client, keys)).find((t) => t.name === name);
  return { base, client, keys, submit, drain, registered };
}

async function start(options: TestTrackerOptions): Promise<Tracker> {
  const tracker = await startTestTracker(options);
  trackers.push(tracker);
  return tracker;
}

/** The `spawned` event of task `id` (listen before it can happen). */
const spawnOf = (tracker: Tracker, id: string): Promise<TrackerEventMap['spawned']> =>
  nextEvent(tracker, 'spawned', (e) => e.taskId === id);
const exitOf = (tracker: Tracker, id: string): Promise<TrackerEventMap['exited']> =>
  nextEvent(tracker, 'exited', (e) => e.taskId === id);

describe('drains', () => {
  it('gives a drained GPU none of a waiting backlog, and takes the next task at once when undrained', async () => {
    const { base, client, keys, submit, drain, registered } = await setup();
    // Heartbeats 10 s apart: what happens within the test comes through the control stream.
    const tracker = await start({ ...base, gpuIds: [0, 1], heartbeatMs: 10_000 });
    const long = await submit(1500);
    const longSpawned = await spawnOf(tracker, long);
    expect(longSpawned.gpuIds).toEqual([0]);
    const longExit = exitOf(tracker, long);

    const drained = nextEvent(tracker, 'drain-changed', (e) => e.gpu === 1);
    await drain('tracker-a', 1, 'fan noise');
    expect(await drained).toEqual({ gpu: 1, reason: 'fan noise', by: 'ops' });
    // Published at once (the message), not only at the next heartbeat.
    await waitFor(
      async () =>
        (await registered('tracker-a'))?.gpuHolds?.some((h) => h.index === 1 && h.kind === 'drained'),
      { message: 'GPU 1 drained in the registry' },
    );

    // A backlog of four 1-GPU tasks of 1 s: GPU 1 is free, but drained.
    const backlog: string[] = [];
    for (let i = 0; i < 4; i++) backlog.push(await submit(1000));
    const [b0 = '', b1 = '', b2 = ''] = backlog;
    const spawned0 = spawnOf(tracker, b0);
    const spawned1 = spawnOf(tracker, b1);
    const spawned2 = spawnOf(tracker, b2);
    const exit0 = exitOf(tracker, b0);
    const exit1 = exitOf(tracker, b1);
    const longEnded = await longExit;
    // Nothing started while the long task held GPU 0; then GPU 0 served the backlog alone.
    const first = await spawned0;
    expect(first.gpuIds).toEqual([0]);
    expect(first.at).toBeGreaterThanOrEqual(longEnded.at);
    expect((await getTask(client, keys, b1))?.status).toBe('queued');
    const second = await spawned1;
    expect(second.gpuIds).toEqual([0]);
    expect(second.at).toBeGreaterThanOrEqual((await exit0).at);
    expect((await getTask(client, keys, b2))?.status).toBe('queued');

    // Undrained while GPU 0 is busy for a second: the next task goes to GPU 1 at once.
    const undrained = nextEvent(tracker, 'drain-changed', (e) => e.gpu === 1 && e.reason === null);
    const undrainAt = Date.now();
    await clearDrain(client, keys, 'tracker-a', 1);
    await undrained;
    const third = await spawned2;
    expect(third.gpuIds).toEqual([1]);
    expect(third.at).toBeLessThan((await exit1).at);
    expect(third.at - undrainAt).toBeLessThan(500);
    expect(tracker.info().gpuHolds ?? []).not.toContainEqual(expect.objectContaining({ index: 1 }));
    const tasks = await Promise.all(backlog.map((id) => waitForFinal(client, keys, id)));
    expect(tasks.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
  });

  it('lets a drained tracker finish its task and leaves the queue to another tracker', async () => {
    const { base, client, keys, submit, drain, registered } = await setup();
    const a = await start({ ...base, consumerName: 'tracker-a', gpuIds: [0] });
    const first = await submit(1000);
    await spawnOf(a, first);
    const firstDone = nextEvent(a, 'completed', (e) => e.taskId === first);
    // B runs a longer task: A frees first, and would take the backlog but for its drain.
    const b = await start({ ...base, consumerName: 'tracker-b', gpuIds: [0] });
    const other = await submit(2500);
    await spawnOf(b, other);

    const drained = nextEvent(a, 'drain-changed', (e) => e.gpu === null);
    await drain('tracker-a', null, 'kernel update');
    expect(await drained).toEqual({ gpu: null, reason: 'kernel update', by: 'ops' });
    expect(a.info().drained).toBe('kernel update');
    const backlog = [await submit(100), await submit(100)];

    expect(await firstDone).toMatchObject({ status: 'succeeded' });
    // A's GPU has been free since its task exited (before the completion): the backlog still waits.
    for (const id of backlog) expect((await getTask(client, keys, id))?.status).toBe('queued');
    const tasks = await Promise.all(backlog.map((id) => waitForFinal(client, keys, id)));
    expect(tasks.map((t) => [t.status, t.tracker])).toEqual([
      ['succeeded', 'tracker-b'],
      ['succeeded', 'tracker-b'],
    ]);
    expect((await waitForFinal(client, keys, other)).status).toBe('succeeded');
    expect((await getTask(client, keys, first))?.tracker).toBe('tracker-a');
    await waitFor(async () => (await registered('tracker-a'))?.drained === 'kernel update', {
      message: 'tracker-a drained in the registry',
    });
  });

  it('never preempts the task on a drained GPU: it finishes, another is stopped instead', async () => {
    const { base, client, keys, drain } = await setup();
    const tracker = await start({ ...base, gpuIds: [0, 1], preemptGraceMs: 500 });
    const events = recordEvents(tracker, ['preempting', 'handed-back']);
    const submit = async (priority: number, sleepMs: number, preemptible: boolean): Promise<string> =>
      (
        await enqueue(
          { redis: client, prefix: base.prefix },
          { executer: 'probe', gpus: 1, priority, preemptible, params: { sleepMs } },
        )
      ).id;
    const low0 = await submit(300, 4000, true);
    expect((await spawnOf(tracker, low0)).gpuIds).toEqual([0]);
    const low1 = await submit(300, 4000, true);
    expect((await spawnOf(tracker, low1)).gpuIds).toEqual([1]);
    const drained = nextEvent(tracker, 'drain-changed', (e) => e.gpu === 1);
    await drain('tracker-a', 1, 'fan noise');
    await drained;
    // The later started of equals would be stopped first (the least work lost), but it is on GPU 1.
    const high = await submit(700, 100, false);
    const done = await waitForFinal(client, keys, high);
    expect([done.status, done.gpuIds]).toEqual(['succeeded', [0]]);
    expect(events.filter((e) => e.name === 'preempting').map((e) => e.payload)).toEqual([
      expect.objectContaining({ taskId: high, victims: [low0] }),
    ]);
    const finished = await waitForFinal(client, keys, low1);
    expect([finished.status, finished.attempt]).toEqual(['succeeded', 1]);
    expect(events.some((e) => e.name === 'handed-back' && e.payload.taskId === low1)).toBe(false);
  });

  it('keeps both drains across a restart, and a GPU’s drain after its tracker is undrained', async () => {
    const { base, client, keys, submit, drain, registered } = await setup();
    const a = await start({ ...base, gpuIds: [0, 1] });
    const both = [
      nextEvent(a, 'drain-changed', (e) => e.gpu === null),
      nextEvent(a, 'drain-changed', (e) => e.gpu === 1),
    ];
    await drain('tracker-a', null, 'maintenance');
    await drain('tracker-a', 1, 'bad fan');
    await Promise.all(both);
    await a.close();

    // Queued while the tracker is down: the restarted tracker must not take them.
    const waiting = [await submit(500), await submit(500)];
    const again = await start({ ...base, gpuIds: [0, 1] });
    expect(again.info().drained).toBe('maintenance');
    expect(again.info().gpuHolds).toContainEqual({ index: 1, kind: 'drained', reason: 'bad fan' });
    // Its first registration (before its first take) says so already.
    expect(await registered('tracker-a')).toMatchObject({ drained: 'maintenance' });
    for (const id of waiting) expect((await getTask(client, keys, id))?.status).toBe('queued');

    const undrained = nextEvent(again, 'drain-changed', (e) => e.gpu === null && e.reason === null);
    const undrainAt = Date.now();
    await clearDrain(client, keys, 'tracker-a', null);
    await undrained;
    const tasks = await Promise.all(waiting.map((id) => waitForFinal(client, keys, id)));
    // GPU 1 is still drained: the two ran one after the other on GPU 0.
    expect(tasks.map((t) => [t.status, t.gpuIds])).toEqual([
      ['succeeded', [0]],
      ['succeeded', [0]],
    ]);
    for (const task of tasks) expect(task.startedAt ?? 0).toBeGreaterThanOrEqual(undrainAt);
    expect(again.info().gpuHolds).toContainEqual({ index: 1, kind: 'drained', reason: 'bad fan' });
  });
});
