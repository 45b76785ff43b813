// Crash recovery with trackers as separate processes: a tracker killed with SIGKILL, one frozen
// past its lease, the same two at the default 15 s lease (found dead by their liveness key, long
// before the lease lapses), a task that kills every tracker running it, a long task on a healthy
// tracker, and a graceful shutdown that hands its tasks to another tracker.
import { describe, expect, it } from 'vitest';
import { getTask, type TaskRecord } from '@gpufleet/core';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { TRACKER_DEFAULTS } from '@gpufleet/tracker';
import { useFaultFleets } from './helpers/fault-fleet.js';
import { waitForFinal } from './helpers/fleet.js';
import { processAlive, type TrackerProcess } from './helpers/tracker-process.js';

const redis = useRedis({ appendOnly: true, appendFsync: 'always' });
const temp = useTempDirs();
const newFleet = useFaultFleets(redis, temp);
const LEASE_MS = 3000;
const SWEEP_MS = 500;
/** The tracker's defaults for lease, sweep and liveness (the helper's short test timings undone). */
const DEFAULTS = {
  GPUFLEET_LEASE_MS: String(TRACKER_DEFAULTS.leaseMs),
  GPUFLEET_SWEEP_MS: String(TRACKER_DEFAULTS.sweepMs),
  GPUFLEET_ALIVE_MS: String(TRACKER_DEFAULTS.aliveMs),
};

type Fleet = Awaited<ReturnType<typeof newFleet>>;

async function runningPid(fleet: Fleet, id: string): Promise<number> {
  return waitFor(async () => {
    const task = await fleet.client.hget(fleet.keys.task(id), 'pid');
    return task ? Number(task) : null;
  });
}

/**
 * Starts two trackers, then submits a task; returns the tracker that runs it and the other one.
 * (Starting the second tracker only once the task runs would race with a short task.)
 */
async function runOnOneOfTwo(
  fleet: Fleet,
  spec: Record<string, unknown>,
  env?: Record<string, string>,
): Promise<{ id: string; pid: number; holder: TrackerProcess; other: TrackerProcess }> {
  await fleet.pastRestartGuard(); // the callers time a takeover, not Redis's start
  const trackers = [await fleet.start('tracker-a', env), await fleet.start('tracker-b', env)];
  const id = await fleet.submit(spec);
  const pid = await runningPid(fleet, id);
  const name = (await getTask(fleet.client, fleet.keys, id))?.tracker;
  const holder = trackers.find((t) => t.options.name === name);
  const other = trackers.find((t) => t.options.name !== name);
  if (!holder || !other) throw new Error(`the task runs on an unknown tracker: ${name}`);
  return { id, pid, holder, other };
}

describe('crash recovery', () => {
  it('finishes a task on another tracker after its tracker is killed with SIGKILL, once, leaving no process', async () => {
    const fleet = await newFleet();
    const spec = { executer: 'probe', gpus: 0, params: { sleepMs: 2500 } };
    const { id, pid, holder: a, other: b } = await runOnOneOfTwo(fleet, spec);
    const killedAt = Date.now();
    a.signal('SIGKILL');
    await a.exited;
    await waitFor(() => !processAlive(pid), {
      timeoutMs: 3000,
      message: 'the dead tracker’s executer is still running',
    });
    const task = await waitForFinal(fleet.client, fleet.keys, id, LEASE_MS + SWEEP_MS + 5000 + 2500);
    const recoveryMs = Date.now() - killedAt;
    expect(task).toMatchObject({ status: 'succeeded', tracker: b.options.name, attempt: 2 });
    expect(recoveryMs).toBeLessThan(LEASE_MS + SWEEP_MS + 5000);
    expect((await fleet.events(id)).filter((s) => s === 'succeeded')).toHaveLength(1);
    expect(b.logs.some((l) => l.event === 'requeued-orphan')).toBe(true);
  });

  it('refuses the late completion of a tracker frozen past its lease; the second attempt’s outputs stand', async () => {
    const fleet = await newFleet();
    const a = await fleet.start('tracker-a');
    const id = await fleet.submit({
      executer: 'probe',
      gpus: 0,
      params: { sleepMs: 1500, files: { 'who.txt': 'first' } },
    });
    await runningPid(fleet, id);
    a.signal('SIGSTOP');
    await fleet.start('tracker-b');
    const task = await waitForFinal(fleet.client, fleet.keys, id, 20_000);
    expect(task).toMatchObject({ status: 'succeeded', tracker: 'tracker-b', attempt: 2 });
    a.signal('SIGCONT');
    await a.waitForEvent('lost', undefined, 10_000);
    const after = await getTask(fleet.client, fleet.keys, id);
    expect(after?.outputs?.prefix).toMatch(/\/2\/outputs$/);
    expect(after?.attempt).toBe(2);
    expect((await fleet.events(id)).filter((s) => s === 'succeeded')).toHaveLength(1);
  });

  it('at the default 15 s lease, finishes a SIGKILLed tracker’s task elsewhere once its liveness key expires', async () => {
    expect(TRACKER_DEFAULTS.leaseMs).toBe(15_000);
    const fleet = await newFleet();
    const spec = { executer: 'probe', gpus: 0, params: { sleepMs: 2000 } };
    const { id, holder: a, other: b } = await runOnOneOfTwo(fleet, spec, DEFAULTS);
    const killedAt = Date.now();
    a.signal('SIGKILL');
    const task = await waitForFinal(fleet.client, fleet.keys, id, 30_000);
    const recoveryMs = Date.now() - killedAt;
    expect(task).toMatchObject({ status: 'succeeded', tracker: b.options.name, attempt: 2 });
    // Liveness TTL + one sweep + the 2 s job + a margin: 9 s. Waiting for the lease instead takes
    // 10 to 15 s (it was last renewed up to lease / 3 before the kill), plus the job.
    expect(recoveryMs).toBeLessThan(TRACKER_DEFAULTS.aliveMs + TRACKER_DEFAULTS.sweepMs + 2000 + 3000);
    expect(b.logs.find((l) => l.event === 'requeued-orphan')).toMatchObject({
      via: 'liveness',
      from: a.options.name,
    });
    expect((await fleet.events(id)).filter((s) => s === 'succeeded')).toHaveLength(1);
  });

  it('at the default lease, a tracker paused past its liveness TTL loses its task, and on resuming kills its executer', async () => {
    const fleet = await newFleet();
    const spec = { executer: 'probe', gpus: 0, params: { sleepMs: 8000, files: { 'who.txt': 'first' } } };
    const { id, pid, holder: a, other: b } = await runOnOneOfTwo(fleet, spec, DEFAULTS);
    a.signal('SIGSTOP');
    const stoppedAt = Date.now();
    await waitFor(async () => (await getTask(fleet.client, fleet.keys, id))?.attempt === 2 || null, {
      timeoutMs: 12_000,
      message: 'tracker-b did not take the paused tracker’s task over',
    });
    expect(Date.now() - stoppedAt).toBeLessThan(TRACKER_DEFAULTS.aliveMs + TRACKER_DEFAULTS.sweepMs + 3000);
    // The claim is in Redis before tracker-b's log line about it reaches this test through a pipe.
    const reclaimed = await b.waitForEvent('requeued-orphan', undefined, 5000);
    expect(reclaimed).toMatchObject({ via: 'liveness', from: a.options.name });
    a.signal('SIGCONT');
    await a.waitForEvent('lost', undefined, 10_000);
    await waitFor(() => !processAlive(pid), {
      timeoutMs: 3000,
      message: 'the paused tracker’s executer still runs',
    });
    const task = await waitForFinal(fleet.client, fleet.keys, id, 20_000);
    expect(task).toMatchObject({ status: 'succeeded', tracker: b.options.name, attempt: 2 });
    expect(task.outputs?.prefix).toMatch(/\/2\/outputs$/);
    expect((await fleet.events(id)).filter((s) => s === 'succeeded')).toHaveLength(1);
  });

  it('kills the executer of an attempt that lost its task, and writes nothing for it', async () => {
    const fleet = await newFleet();
    const a = await fleet.start('tracker-a');
    const id = await fleet.submit({ executer: 'probe', gpus: 0, params: { sleepMs: 30_000 } });
    const pid = await runningPid(fleet, id);
    // Another attempt takes the task over (as a reclaim after a lapsed lease would).
    await fleet.client.hset(fleet.keys.task(id), 'leaseToken', 'another-attempt');
    await a.waitForEvent('lost', (l) => l.stage === 'running', 5000);
    await waitFor(() => !processAlive(pid), {
      timeoutMs: 1000 + 2000,
      message: 'the lost attempt’s executer still runs',
    });
    expect((await getTask(fleet.client, fleet.keys, id))?.status).toBe('running'); // untouched by tracker-a
    expect(await fleet.events(id)).toEqual(['queued', 'running']);
  });

  it('dead-letters a task that kills its tracker after exactly maxAttempts deliveries, while others flow', async () => {
    const fleet = await newFleet();
    let generation = 0;
    let current = await fleet.start('tracker-p');
    const supervise = async (): Promise<void> => {
      for (;;) {
        await current.exited;
        if (generation >= 10) return;
        generation++;
        current = await fleet.start('tracker-p');
      }
    };
    const supervisor = supervise();
    // A restart that fails ends the test with its reason (the tracker's stderr), not a timeout.
    const restartFailed = supervisor.then(() => new Promise<never>(() => undefined));
    const final = (id: string, timeoutMs: number): Promise<TaskRecord> =>
      Promise.race([waitForFinal(fleet.client, fleet.keys, id, timeoutMs), restartFailed]);
    const poison = await fleet.submit({ executer: 'poison', maxAttempts: 3 });
    const others = await Promise.all([1, 2, 3].map(() => fleet.submit({ executer: 'probe', gpus: 0 })));
    const task = await final(poison, 40_000);
    expect(task.status).toBe('dead');
    expect(task.error).toMatch(/attempts exhausted: delivered 3 times/);
    expect((await fleet.events(poison)).filter((s) => s === 'running')).toHaveLength(3);
    const dead = await fleet.client.xrange(fleet.keys.dead, '-', '+');
    expect(dead.map(([, f]) => f[1])).toEqual([poison]);
    for (const id of others) expect((await final(id, 20_000)).status).toBe('succeeded');
    expect(generation).toBe(3);
    generation = 10;
    await current.stop();
    await supervisor;
  }, 60_000); // four tracker starts in a row: over 30 s when the whole suite loads the machine

  it('never gives a task running five leases long on a healthy tracker to another tracker', async () => {
    const fleet = await newFleet();
    const env = { GPUFLEET_LEASE_MS: '1000', GPUFLEET_SWEEP_MS: '200' };
    await fleet.start('tracker-a', env);
    const id = await fleet.submit({ executer: 'probe', gpus: 0, params: { sleepMs: 5000 } });
    await runningPid(fleet, id);
    const b = await fleet.start('tracker-b', env);
    const task = await waitForFinal(fleet.client, fleet.keys, id, 15_000);
    expect(task).toMatchObject({ status: 'succeeded', tracker: 'tracker-a', attempt: 1 });
    expect(b.logs.some((l) => l.taskId === id)).toBe(false);
  });

  it('on SIGTERM exits 0 within the grace and hands its running tasks to another tracker', async () => {
    const fleet = await newFleet();
    const a = await fleet.start('tracker-a');
    // 8 s: the tasks must outlast tracker-b's start, seconds on a loaded machine.
    const ids = [
      await fleet.submit({ executer: 'probe', gpus: 0, params: { sleepMs: 8000 } }),
      await fleet.submit({ executer: 'probe', gpus: 0, params: { sleepMs: 8000 } }),
    ];
    await Promise.all(ids.map((id) => runningPid(fleet, id)));
    await fleet.start('tracker-b');
    const signalledAt = Date.now();
    a.signal('SIGTERM');
    const exit = await a.exited;
    expect(exit.code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(1000 + 2000);
    for (const id of ids) {
      const task = await waitForFinal(fleet.client, fleet.keys, id, 20_000);
      expect(task).toMatchObject({ status: 'succeeded', tracker: 'tracker-b' });
      expect(await fleet.events(id)).toContain('queued');
    }
    expect(await fleet.client.hexists(fleet.keys.trackers, 'tracker-a')).toBe(0);
  });

  it('kills what a crashed life left running (task-init off) when it restarts, and reruns the task at once', async () => {
    const fleet = await newFleet();
    const env = { GPUFLEET_TASK_INIT: 'off', GPUFLEET_LEASE_MS: '30000' };
    const a = await fleet.start('tracker-a', env);
    const id = await fleet.submit({ executer: 'probe', gpus: 0, params: { sleepMs: 1500 } });
    const pid = await runningPid(fleet, id);
    a.signal('SIGKILL');
    await a.exited;
    expect(processAlive(pid)).toBe(true); // without task-init the orphan survives its tracker...
    const restarted = await fleet.start('tracker-a', env);
    expect(processAlive(pid)).toBe(false); // ...until the tracker's next life kills it
    await restarted.waitForEvent('previous-life-recovered');
    const task = await waitForFinal(fleet.client, fleet.keys, id, 10_000); // long before the 30 s lease
    expect(task).toMatchObject({ status: 'succeeded', tracker: 'tracker-a', attempt: 2 });
  });
});
