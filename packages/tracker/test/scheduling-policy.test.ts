// The scheduling policy on real trackers (two, so that every decision is taken by trackers racing
// for the same tasks) running real processes: a higher priority starts at the next free slot, a
// priority changed while waiting counts at once, a second tenant is not starved behind the first's
// backlog (fair share), a tenant's running-GPU quota holds across trackers, and backfill starts a
// short task ahead of a big one that cannot start yet, but not a long one that would delay it.
import { describe, expect, it } from 'vitest';
import { enqueue, queueKeys, setTaskPriority, type SchedulingSettings } from '@gpufleet/core';
import { uniquePrefix, useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import type { Tracker } from '@gpufleet/tracker';
import { startTestTracker, useTrackers, waitForFinal } from './helpers/fleet.js';
import { recordEvents, type RecordedEvent } from './helpers/tracker-events.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();

async function twoTrackers(prefix: string, gpus: number): Promise<Tracker[]> {
  const started: Tracker[] = [];
  for (const name of ['sched-a', 'sched-b']) {
    const tracker = await startTestTracker({
      redisUrl: redis.server.url,
      prefix,
      consumerName: name,
      artifactDir: await temp.make(),
      workDir: await temp.make(),
      gpuIds: Array.from({ length: gpus }, (_, i) => i),
      cpuSlots: 0,
    });
    trackers.push(tracker);
    started.push(tracker);
  }
  return started;
}

/** Every spawn and exit of both trackers, in the order they happened (by their times). */
function timeline(
  events: RecordedEvent[],
): Array<{ kind: 'spawned' | 'exited'; taskId: string; at: number }> {
  return events
    .flatMap((e) =>
      e.name === 'spawned' || e.name === 'exited'
        ? [{ kind: e.name, taskId: e.payload.taskId, at: e.name === 'spawned' ? e.payload.at : e.payload.at }]
        : [],
    )
    .sort((a, b) => a.at - b.at);
}

describe('the scheduling policy on real trackers', () => {
  it('starts a higher priority first, and a priority changed while waiting at once', async () => {
    const prefix = uniquePrefix();
    const client = redis.server.client();
    const keys = queueKeys(prefix, 'default');
    const fleet = await twoTrackers(prefix, 1);
    const recorded = fleet.map((t) => recordEvents(t, ['spawned']));
    const submit = async (sleepMs: number, priority?: number): Promise<string> =>
      (await enqueue({ redis: client, prefix }, { executer: 'probe', params: { sleepMs }, priority })).id;
    const busy = [await submit(1500), await submit(1500)];
    // Both slots busy before the rest is submitted: the order below is then the policy's alone.
    await waitFor(() => recorded.flat().length >= 2, { message: 'both busy tasks spawned' });
    const waiting = [await submit(50), await submit(50), await submit(50)];
    const urgent = await submit(50, 900);
    expect(await setTaskPriority(client, keys, waiting[2] as string, 950, Date.now())).toMatchObject({
      kind: 'changed',
    });
    for (const id of [...busy, ...waiting, urgent])
      expect(await waitForFinal(client, keys, id)).toMatchObject({
        status: 'succeeded',
      });
    const order = timeline(recorded.flat()).map((e) => e.taskId);
    expect(order.slice(2)).toEqual([waiting[2], urgent, waiting[0], waiting[1]]);
  });

  it('does not starve a second tenant behind the first one’s backlog', async () => {
    const prefix = uniquePrefix();
    const client = redis.server.client();
    const keys = queueKeys(prefix, 'default');
    const fleet = await twoTrackers(prefix, 2);
    const recorded = fleet.map((t) => recordEvents(t, ['spawned', 'exited']));
    const submit = async (tenant: string): Promise<string> =>
      (await enqueue({ redis: client, prefix }, { executer: 'probe', params: { sleepMs: 200 } }, { tenant }))
        .id;
    const alice: string[] = [];
    for (let i = 0; i < 12; i++) alice.push(await submit('alice'));
    const bob: string[] = [];
    for (let i = 0; i < 4; i++) bob.push(await submit('bob'));
    for (const id of [...alice, ...bob]) await waitForFinal(client, keys, id);
    const starts = timeline(recorded.flat())
      .filter((e) => e.kind === 'spawned')
      .map((e) => e.taskId);
    // Oldest-first would start all twelve of Alice's first. Bob, with no usage, goes first from the
    // first free slot on: each of his starts before Alice's next.
    const firstBob = starts.indexOf(bob[0] as string);
    expect(firstBob).toBeLessThanOrEqual(4 + 1);
    for (const id of bob)
      expect(starts.indexOf(id)).toBeLessThan(starts.indexOf(alice[alice.length - 1] as string));
  });

  it('holds a tenant’s running-GPU quota across trackers, and lets others use the rest', async () => {
    const prefix = uniquePrefix();
    const client = redis.server.client();
    const keys = queueKeys(prefix, 'default');
    const fleet = await twoTrackers(prefix, 1);
    const recorded = fleet.map((t) => recordEvents(t, ['spawned', 'exited']));
    const quota: SchedulingSettings = { weight: 1, maxRunningGpus: 1 };
    const submit = async (tenant: string, scheduling?: SchedulingSettings): Promise<string> =>
      (
        await enqueue(
          { redis: client, prefix },
          { executer: 'probe', params: { sleepMs: 300 } },
          { tenant, scheduling },
        )
      ).id;
    const alice = [await submit('alice', quota), await submit('alice', quota), await submit('alice', quota)];
    const bob = await submit('bob');
    for (const id of [...alice, bob])
      expect(await waitForFinal(client, keys, id)).toMatchObject({ status: 'succeeded' });
    let running = 0;
    let most = 0;
    for (const e of timeline(recorded.flat())) {
      if (!alice.includes(e.taskId)) continue;
      running += e.kind === 'spawned' ? 1 : -1;
      most = Math.max(most, running);
    }
    expect(most).toBe(1);
    const starts = timeline(recorded.flat()).filter((e) => e.kind === 'spawned');
    // Bob's task, the newest, ran beside Alice's first: the second GPU was not left idle.
    expect(
      starts
        .map((e) => e.taskId)
        .slice(0, 2)
        .sort(),
    ).toEqual([alice[0], bob].sort());
  });

  it('backfills a task whose time limit ends it before the big one can start, and no other', async () => {
    const prefix = uniquePrefix();
    const client = redis.server.client();
    const keys = queueKeys(prefix, 'default');
    const tracker = await startTestTracker({
      redisUrl: redis.server.url,
      prefix,
      artifactDir: await temp.make(),
      workDir: await temp.make(),
      gpuIds: [0, 1],
      cpuSlots: 0,
    });
    trackers.push(tracker);
    const recorded = recordEvents(tracker, ['spawned', 'exited']);
    const submit = async (gpus: number, sleepMs: number, timeLimitMs: number): Promise<string> =>
      (
        await enqueue(
          { redis: client, prefix },
          { executer: 'probe', gpus, params: { sleepMs }, timeLimitMs },
        )
      ).id;
    const running = await submit(1, 1500, 3000);
    const big = await submit(2, 100, 5000);
    const short = await submit(1, 100, 1000); // ends by the big one's reservation
    const long = await submit(1, 100, 10_000); // would not: it waits behind the big one
    for (const id of [running, big, short, long])
      expect(await waitForFinal(client, keys, id)).toMatchObject({ status: 'succeeded' });
    const starts = timeline(recorded)
      .filter((e) => e.kind === 'spawned')
      .map((e) => e.taskId);
    expect(starts).toEqual([running, short, big, long]);
  });
});
