// Cancel, time limits and retries on a real tracker process: a cancelled task whose child ignores
// SIGTERM and forked grandchildren leaves no process of its group after the grace; a queued cancel
// never starts; a time limit kills the group and ends timed_out; a failing task is retried with
// its backoff, each attempt with its own outputs.
import { describe, expect, it } from 'vitest';
import { cancelTask, getTask } from '@gpufleet/core';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { useFaultFleets } from './helpers/fault-fleet.js';
import { waitForFinal } from './helpers/fleet.js';
import { processAlive } from './helpers/tracker-process.js';

const redis = useRedis();
const temp = useTempDirs();
const newFleet = useFaultFleets(redis, temp);
const GRACE_MS = 1000;

async function stubbornPids(fleet: Awaited<ReturnType<typeof newFleet>>, id: string): Promise<number[]> {
  return waitFor(async () => {
    for (const [, fields] of await fleet.client.xrange(fleet.keys.log(id), '-', '+')) {
      const match = /\{"pids":\[[\d,]+\]\}/.exec(fields[3] ?? '');
      if (match) return (JSON.parse(match[0]) as { pids: number[] }).pids;
    }
    return null;
  });
}

describe('cancel and limits', () => {
  it('kills a cancelled task’s whole process group, SIGTERM-deaf child and grandchildren, within the grace', async () => {
    const fleet = await newFleet();
    await fleet.start('tracker-a');
    const id = await fleet.submit({ executer: 'stubborn' });
    const pids = await stubbornPids(fleet, id);
    expect(pids).toHaveLength(3);
    expect(pids.every(processAlive)).toBe(true);
    const cancelledAt = Date.now();
    expect(await cancelTask(fleet.client, fleet.keys, id, Date.now())).toEqual({
      kind: 'signalled',
      tracker: 'tracker-a',
    });
    await waitFor(() => pids.every((pid) => !processAlive(pid)), {
      timeoutMs: GRACE_MS + 1000,
      message: 'processes of the cancelled task survived',
    });
    const goneMs = Date.now() - cancelledAt;
    const task = await waitForFinal(fleet.client, fleet.keys, id);
    expect(task.status).toBe('cancelled');
    expect(task.errorCode).toBe('CANCELLED');
    expect(goneMs).toBeLessThan(GRACE_MS + 1000);
  });

  it('cancels a running task even when the control message is lost, at its next lease renewal', async () => {
    const fleet = await newFleet();
    await fleet.start('tracker-a');
    const id = await fleet.submit({ executer: 'stubborn' });
    const pids = await stubbornPids(fleet, id);
    // What cancel.lua does, minus the control stream message: only the renewal can notice.
    await fleet.client.hset(
      fleet.keys.task(id),
      'cancelRequested',
      String(Date.now()),
      'cancelReason',
      'cancelled by request',
    );
    const task = await waitForFinal(fleet.client, fleet.keys, id, 1000 + GRACE_MS + 2000);
    expect(task.status).toBe('cancelled');
    expect(task.errorCode).toBe('CANCELLED');
    expect(pids.some(processAlive)).toBe(false);
  });

  it('never starts a task cancelled while it waits', async () => {
    const fleet = await newFleet();
    await fleet.start('tracker-a', { GPUFLEET_CPU_SLOTS: '1' });
    const blocker = await fleet.submit({ executer: 'probe', gpus: 0, params: { sleepMs: 1500 } });
    const waiting = await fleet.submit({ executer: 'probe', gpus: 0 });
    await waitFor(async () => (await getTask(fleet.client, fleet.keys, blocker))?.status === 'running');
    expect(await cancelTask(fleet.client, fleet.keys, waiting, Date.now())).toEqual({ kind: 'cancelled' });
    expect((await waitForFinal(fleet.client, fleet.keys, blocker)).status).toBe('succeeded');
    const after = await getTask(fleet.client, fleet.keys, waiting);
    expect(after).toMatchObject({ status: 'cancelled', attempt: 0 });
    expect(await fleet.events(waiting)).toEqual(['queued', 'cancelled']);
  });

  it('ends a task past its time limit timed_out, its process group killed', async () => {
    const fleet = await newFleet();
    await fleet.start('tracker-a');
    const id = await fleet.submit({
      executer: 'probe',
      gpus: 0,
      timeLimitMs: 2000,
      params: { sleepMs: 60_000 },
    });
    const started = await waitFor(async () => (await getTask(fleet.client, fleet.keys, id))?.startedAt);
    const pid = Number(await waitFor(() => fleet.client.hget(fleet.keys.task(id), 'pid')));
    const task = await waitForFinal(fleet.client, fleet.keys, id, 10_000);
    expect(task.status).toBe('timed_out');
    expect(task.error).toMatch(/time limit of 2000 ms/);
    expect(task.errorCode).toBe('TIME_LIMIT');
    expect((task.endedAt ?? 0) - started).toBeLessThan(2000 + GRACE_MS + 1000);
    expect(processAlive(pid)).toBe(false);
  });

  it('retries a failing task with its backoff, each attempt with its own outputs', async () => {
    const fleet = await newFleet();
    await fleet.start('tracker-a');
    const id = await fleet.submit({
      executer: 'probe',
      gpus: 0,
      params: { exitCode: 4 },
      retries: 2,
      retryBackoff: { strategy: 'fixed', delayMs: 300 },
    });
    const task = await waitForFinal(fleet.client, fleet.keys, id, 15_000);
    expect(task).toMatchObject({ status: 'failed', exitCode: 4, attempt: 3, failures: 2 });
    expect(task.errorCode).toBe('EXIT_NONZERO');
    expect(task.outputs?.prefix).toMatch(/\/3\/outputs$/);
    expect(await fleet.events(id)).toEqual([
      'queued',
      'running',
      'uploading',
      'queued',
      'running',
      'uploading',
      'queued',
      'running',
      'uploading',
      'failed',
    ]);
    const runs = (await fleet.client.xrange(fleet.keys.events, '-', '+')).filter(
      ([, f]) => f[1] === id && f[3] === 'running',
    );
    const gaps = runs
      .slice(1)
      .map(([entry], i) => Number(entry.split('-')[0]) - Number(runs[i]?.[0].split('-')[0]));
    expect(gaps.every((gap) => gap >= 300)).toBe(true);
  });
});
