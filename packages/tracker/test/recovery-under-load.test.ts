// Crash recovery under a backlog, at the default lease, sweep and liveness TTL: two trackers of
// four GPUs each work through a queue of 800 ms tasks; one is SIGKILLed mid-run. The tasks it was
// running are older than everything still waiting: each must restart on the survivor before any
// waiting task starts, within liveness TTL + sweep + 1 s of the kill, side by side (one death is no
// evidence against a task), and no task may be handed back or see its attempts counted twice.
// The tenant accounts (waiting tasks, running tasks and GPUs) equal a recount of the task hashes
// at the kill and at the end, when every task has ended and they are empty.
import { describe, expect, it } from 'vitest';
import { getTask, snapshotTenantAccounts } from '@gpufleet/core';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { TRACKER_DEFAULTS } from '@gpufleet/tracker';
import { useFaultFleets } from './helpers/fault-fleet.js';
import { waitForFinal } from './helpers/fleet.js';

const redis = useRedis({ appendOnly: true, appendFsync: 'always' });
const temp = useTempDirs();
const newFleet = useFaultFleets(redis, temp);

const TASK_MS = 800;
const TASKS = 64;
const GPU_TRACKER = {
  GPUFLEET_GPUS: '0,1,2,3',
  GPUFLEET_CPU_SLOTS: '0',
  GPUFLEET_LEASE_MS: String(TRACKER_DEFAULTS.leaseMs),
  GPUFLEET_SWEEP_MS: String(TRACKER_DEFAULTS.sweepMs),
  GPUFLEET_ALIVE_MS: String(TRACKER_DEFAULTS.aliveMs),
};

interface TaskEvent {
  id: string;
  status: string;
  attempt: number;
  at: number;
  tracker: string;
}

describe('crash recovery under a backlog', () => {
  it('restarts a SIGKILLed tracker’s tasks on the survivor before any waiting task, side by side, within TTL + sweep + 1 s', async () => {
    const fleet = await newFleet();
    await fleet.pastRestartGuard();
    const a = await fleet.start('tracker-a', GPU_TRACKER);
    const b = await fleet.start('tracker-b', GPU_TRACKER);
    const ids: string[] = [];
    for (let i = 0; i < TASKS; i++)
      ids.push(await fleet.submit({ executer: 'probe', gpus: 1, params: { sleepMs: TASK_MS } }));
    // Mid-run: both trackers full, most of the queue still waiting.
    await waitFor(
      async () => {
        const done = await Promise.all(ids.map((id) => fleet.client.hget(fleet.keys.task(id), 'status')));
        return done.filter((s) => s === 'succeeded').length >= 12 || null;
      },
      { timeoutMs: 20_000 },
    );
    a.signal('SIGKILL');
    const killedAt = Date.now();
    await a.exited;
    const records = await Promise.all(ids.map((id) => getTask(fleet.client, fleet.keys, id)));
    const orphans = records
      .filter((r) => (r?.status === 'running' || r?.status === 'uploading') && r.tracker === 'tracker-a')
      .map((r) => r?.id as string);
    expect(orphans.length).toBeGreaterThanOrEqual(2);
    const waitingAtKill = records.filter((r) => r?.status === 'queued').length;
    expect(waitingAtKill).toBeGreaterThan(8); // a real backlog: more than both trackers' slots
    const atKill = await snapshotTenantAccounts(fleet.client, fleet.keys, ids);
    expect(atKill.stored).toEqual(atKill.recounted);
    expect(atKill.stored.default?.waiting).toBeGreaterThan(0);
    expect(atKill.stored.default?.runningGpus).toBeGreaterThanOrEqual(orphans.length);

    for (const id of ids)
      expect((await waitForFinal(fleet.client, fleet.keys, id, 60_000)).status).toBe('succeeded');
    const events: TaskEvent[] = (await fleet.client.xrange(fleet.keys.events, '-', '+')).map(([, f]) => ({
      id: f[1] ?? '',
      status: f[3] ?? '',
      attempt: Number(f[5]),
      at: Number(f[7]),
      tracker: f[9] ?? '',
    }));
    const budgetMs = TRACKER_DEFAULTS.aliveMs + TRACKER_DEFAULTS.sweepMs + 1000;
    const restarts = orphans.map((id) => {
      const requeued = events.find((e) => e.id === id && e.status === 'queued' && e.attempt === 1);
      const restart = events.find((e) => e.id === id && e.status === 'running' && e.attempt === 2);
      const done = events.find((e) => e.id === id && e.status === 'succeeded');
      if (!requeued || !restart || !done)
        throw new Error(`orphan ${id} has no requeue, restart or end event`);
      expect(restart.tracker).toBe('tracker-b');
      return { id, requeuedAt: requeued.at, at: restart.at, doneAt: done.at };
    });
    console.log(
      JSON.stringify(
        restarts.map((r) => ({ q: r.requeuedAt - killedAt, s: r.at - killedAt, d: r.doneAt - killedAt })),
      ),
    );
    for (const r of restarts) {
      // Kill → restart within liveness TTL + sweep + 1 s; kill → done within that plus the task
      // (its 800 ms, and the start of a Node program on a machine the whole suite loads).
      expect(r.at - killedAt).toBeLessThan(budgetMs);
      expect(r.doneAt - killedAt).toBeLessThan(budgetMs + TASK_MS + 1000);
      // No task that was waiting started between this orphan's requeue and its restart.
      const overtaking = events.filter(
        (e) => e.status === 'running' && e.attempt === 1 && e.at > r.requeuedAt && e.at < r.at,
      );
      expect(overtaking.map((e) => e.id)).toEqual([]);
    }
    // Side by side: while each orphan ran again, other tasks ran beside it on the survivor (a
    // suspect would run alone, with the tracker's other slots left empty).
    const runsOnB = new Map<string, { at: number; doneAt: number }>();
    for (const e of events) {
      if (e.status === 'running' && e.tracker === 'tracker-b')
        runsOnB.set(e.id, { at: e.at, doneAt: Infinity });
      const run = runsOnB.get(e.id);
      if (e.status === 'succeeded' && run) run.doneAt = e.at;
    }
    for (const r of restarts) {
      const beside = [...runsOnB].filter(
        ([id, run]) => id !== r.id && run.at < r.doneAt && run.doneAt > r.at,
      );
      expect(beside.length, `tasks beside orphan ${r.id}`).toBeGreaterThan(0);
    }
    // attempt counts executions: only the orphans ran twice; maxAttempts stayed as asked.
    const finals = await Promise.all(ids.map((id) => getTask(fleet.client, fleet.keys, id)));
    for (const record of finals) {
      expect(record?.attempt).toBe(orphans.includes(record?.id ?? '') ? 2 : 1);
      expect(record?.maxAttempts).toBe(3);
    }
    expect(await snapshotTenantAccounts(fleet.client, fleet.keys, ids)).toEqual({
      stored: {},
      recounted: {},
    });
    expect(b.logs.filter((l) => l.event === 'handed-back')).toEqual([]);
    expect(b.logs.filter((l) => /syntax error/i.test(JSON.stringify(l)))).toEqual([]);
  }, 90_000);
});
