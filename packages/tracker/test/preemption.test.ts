// Preemption on real trackers running real processes. Two trackers of one GPU each, busy with
// preemptible tasks of low priority and a backlog behind them: a task of higher priority stops
// exactly one of them (the trackers race for it; Redis lets one preempt), with SIGTERM and the
// grace that its environment names; the stopped task checkpoints, goes back to the queue first
// within its priority without counting an attempt (maxAttempts 1 still lets it run again), and
// resumes. A task not submitted preemptible, or of equal priority, is never stopped; one that
// ignores SIGTERM is killed when its grace ends.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { enqueue, getTask, queueKeys, type QueueKeys, type TaskSpec } from '@gpufleet/core';
import { uniquePrefix, useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import type { Tracker } from '@gpufleet/tracker';
import { startTestTracker, useTrackers, waitForFinal } from './helpers/fleet.js';
import { nextEvent, recordEvents, type RecordedEvent } from './helpers/tracker-events.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();

async function fleetOf(prefix: string, names: string[], preemptGraceMs: number): Promise<Tracker[]> {
  const started: Tracker[] = [];
  for (const consumerName of names) {
    const tracker = await startTestTracker({
      redisUrl: redis.server.url,
      prefix,
      consumerName,
      artifactDir: await temp.make(),
      workDir: await temp.make(),
      gpuIds: [0],
      cpuSlots: 0,
      preemptGraceMs,
      shutdownGraceMs: 200, // what a test leaves running is handed back at once
    });
    trackers.push(tracker);
    started.push(tracker);
  }
  return started;
}

/** The `spawned` and `exited` times of `taskId`, in order. */
function lifeOf(events: RecordedEvent[], taskId: string): { spawned: number[]; exited: number[] } {
  const life = { spawned: [] as number[], exited: [] as number[] };
  for (const e of events) {
    if (e.name === 'spawned' && e.payload.taskId === taskId) life.spawned.push(e.payload.at);
    if (e.name === 'exited' && e.payload.taskId === taskId) life.exited.push(e.payload.at);
  }
  return life;
}

/** Resolves once task `id`'s live log holds `text`. */
async function printed(keys: QueueKeys, id: string, text: string): Promise<void> {
  const client = redis.server.client();
  await waitFor(async () =>
    (await client.xrange(keys.log(id), '-', '+')).some(([, fields]) => fields.join(' ').includes(text)),
  );
}

describe('preemption on real trackers', () => {
  it('stops one preemptible task of lower priority, which checkpoints, is requeued and resumes', async () => {
    const prefix = uniquePrefix();
    const client = redis.server.client();
    const keys = queueKeys(prefix, 'default');
    const stateDir = await temp.make();
    const fleet = await fleetOf(prefix, ['pre-a', 'pre-b'], 2000);
    const recorded = fleet.map((t) => recordEvents(t, ['spawned', 'exited', 'preempting', 'handed-back']));
    const submit = async (spec: Omit<TaskSpec, 'executer'> & { executer?: string }): Promise<string> =>
      (await enqueue({ redis: client, prefix }, { executer: 'checkpointer', ...spec })).id;
    const low = (sleepMs: number) =>
      submit({
        params: { stateDir, sleepMs, resumeSleepMs: 100 },
        priority: 300,
        preemptible: true,
        maxAttempts: 1,
      });
    const victims = [await low(4000), await low(4000)];
    // Both run, and listen for SIGTERM (they print a line once they do).
    for (const id of victims) await printed(keys, id, 'starting');
    const backlog = [await low(50), await low(50), await low(50)];
    const submittedAt = Date.now();
    const urgent = await submit({ executer: 'probe', params: { sleepMs: 50 }, priority: 800 });
    for (const id of [urgent, ...victims, ...backlog])
      expect(await waitForFinal(client, keys, id)).toMatchObject({ status: 'succeeded' });
    const events = recorded.flat();

    const preempting = events.filter((e) => e.name === 'preempting');
    expect(preempting).toHaveLength(1);
    const { payload } = preempting[0] as Extract<RecordedEvent, { name: 'preempting' }>;
    expect(payload).toMatchObject({ taskId: urgent, priority: 800, graceMs: 2000 });
    expect(payload.victims).toHaveLength(1);
    const victim = payload.victims[0] as string;
    const other = victims.find((id) => id !== victim) as string;
    expect(victims).toContain(victim);
    // It was told the signal and the grace, checkpointed on SIGTERM and resumed from it.
    const checkpoint = JSON.parse(readFileSync(join(stateDir, `${victim}.checkpoint`), 'utf8')) as object;
    expect(checkpoint).toMatchObject({ attempt: '1', signal: 'SIGTERM', graceMs: '2000' });
    const life = lifeOf(events, victim);
    expect(life.spawned).toHaveLength(2);
    expect((life.exited[1] as number) - (life.spawned[1] as number)).toBeLessThan(2000);
    expect(await getTask(client, keys, victim)).toMatchObject({
      attempt: 2,
      maxAttempts: 1,
      preemptions: 1,
      preemptedBy: urgent,
    });
    const handedBack = events.find((e) => e.name === 'handed-back' && e.payload.taskId === victim);
    expect(handedBack?.payload).toMatchObject({ preemptedBy: urgent, started: true, handedBack: true });
    // The other ran undisturbed; the urgent task started at once (its victim exits on SIGTERM).
    expect(lifeOf(events, other).spawned).toHaveLength(1);
    const urgentStart = lifeOf(events, urgent).spawned[0] as number;
    expect(urgentStart - submittedAt).toBeLessThan(1500);
    // Back in line first within its priority: before the backlog that waited all along.
    const resumed = life.spawned[1] as number;
    expect(resumed).toBeGreaterThan(urgentStart);
    for (const id of backlog) expect(lifeOf(events, id).spawned[0]).toBeGreaterThan(resumed);
  });

  it('never stops a task not submitted preemptible or of equal priority; kills a deaf one after the grace', async () => {
    const prefix = uniquePrefix();
    const client = redis.server.client();
    const keys = queueKeys(prefix, 'default');
    const [tracker] = await fleetOf(prefix, ['pre-c'], 600);
    const events = recordEvents(tracker as Tracker, ['spawned', 'exited', 'preempting']);
    const probe = async (sleepMs: number, priority: number, preemptible?: boolean): Promise<string> =>
      (
        await enqueue(
          { redis: client, prefix },
          { executer: 'probe', params: { sleepMs }, priority, preemptible },
        )
      ).id;
    const startedOnce = async (id: string): Promise<void> => {
      await nextEvent(tracker as Tracker, 'spawned', (p) => p.taskId === id);
    };
    // Not preemptible: the urgent task waits for it to end.
    let running = await probe(1200, 100);
    await startedOnce(running);
    let urgent = await probe(50, 900);
    await waitForFinal(client, keys, urgent);
    expect(lifeOf(events, urgent).spawned[0]).toBeGreaterThan(lifeOf(events, running).exited[0] as number);
    // Preemptible, but of the same priority: the same.
    running = await probe(1200, 500, true);
    await startedOnce(running);
    urgent = await probe(50, 500);
    await waitForFinal(client, keys, urgent);
    expect(lifeOf(events, urgent).spawned[0]).toBeGreaterThan(lifeOf(events, running).exited[0] as number);
    expect(events.filter((e) => e.name === 'preempting')).toHaveLength(0);
    // Preemptible and deaf to SIGTERM: SIGKILL when the grace ends.
    const deaf = (
      await enqueue(
        { redis: client, prefix },
        { executer: 'stubborn', gpus: 1, priority: 100, preemptible: true, timeLimitMs: 4000 },
      )
    ).id;
    // Once it listens for SIGTERM (a SIGTERM before would end it): it prints its pids then.
    await printed(keys, deaf, '"pids"');
    const preempted = nextEvent(tracker as Tracker, 'preempting');
    urgent = await probe(50, 900);
    const { victims } = await preempted;
    const preemptedAt = Date.now();
    expect(victims).toEqual([deaf]);
    await waitForFinal(client, keys, urgent);
    const killedAt = lifeOf(events, deaf).exited[0] as number;
    expect(killedAt - preemptedAt).toBeGreaterThanOrEqual(500);
    expect(lifeOf(events, urgent).spawned[0]).toBeGreaterThan(killedAt);
    // Requeued, it runs again until its time limit.
    expect(await waitForFinal(client, keys, deaf)).toMatchObject({ status: 'timed_out', preemptions: 1 });
  });

  it('keeps watching the queue when full, taking only for a task that may preempt', async () => {
    const prefix = uniquePrefix();
    const client = redis.server.client();
    const keys = queueKeys(prefix, 'default');
    const [tracker] = await fleetOf(prefix, ['pre-d'], 600);
    const probe = async (sleepMs: number, priority: number, preemptible?: boolean): Promise<string> =>
      (
        await enqueue(
          { redis: client, prefix },
          { executer: 'probe', params: { sleepMs }, priority, preemptible },
        )
      ).id;
    const running = await probe(20_000, 300, true);
    await nextEvent(tracker as Tracker, 'spawned', (p) => p.taskId === running);
    // Fifty arrivals of its own priority: none could preempt it, so none costs the tracker a take
    // (Redis's script calls: the fifty enqueues and the lease renewals, not a take per arrival).
    const scriptCalls = async (): Promise<number> =>
      Number(/cmdstat_fcall:calls=(\d+)/.exec(await client.info('commandstats'))?.[1] ?? 0);
    const before = await scriptCalls();
    for (let i = 0; i < 50; i++) await probe(10, 300);
    const reads = nextEvent(tracker as Tracker, 'waiting-for-tasks');
    await probe(10, 300); // the tracker has read past the fifty once it waits after this one
    await reads;
    expect((await scriptCalls()) - before).toBeLessThan(51 + 8);
    const preempting = nextEvent(tracker as Tracker, 'preempting');
    const urgent = await probe(10, 301);
    expect(await preempting).toMatchObject({ taskId: urgent, victims: [running] });
    expect(await waitForFinal(client, keys, urgent)).toMatchObject({ status: 'succeeded' });
  });
});
