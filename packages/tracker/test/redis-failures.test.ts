// Redis failures under running trackers: Redis killed with SIGKILL (AOF, fsync always) in the
// middle of 1,000 tasks and started again loses none and completes none twice; a task that ends
// while Redis is down completes when it is back; FLUSHALL is survived without spinning.
import { describe, expect, it } from 'vitest';
import { getTask, isFinal } from '@gpufleet/core';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { useFaultFleets } from './helpers/fault-fleet.js';
import { waitForFinal } from './helpers/fleet.js';

const redis = useRedis({ appendOnly: true, appendFsync: 'always' });
const temp = useTempDirs();
const newFleet = useFaultFleets(redis, temp);

describe('Redis failures', () => {
  it('loses none of 1,000 tasks and completes none twice when Redis is killed and restarted mid-run', async () => {
    const fleet = await newFleet();
    await fleet.start('tracker-a', { GPUFLEET_CPU_SLOTS: '4', LOG_LEVEL: 'warn' });
    await fleet.start('tracker-b', { GPUFLEET_CPU_SLOTS: '4', LOG_LEVEL: 'warn' });
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) ids.push(await fleet.submit({ executer: 'noop-fast' }));
    await waitFor(async () => (await fleet.client.xlen(fleet.keys.events)) > 1000 + 600, {
      timeoutMs: 60_000,
    });
    await redis.server.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await redis.server.restart();
    const client = redis.server.client();
    await waitFor(
      async () => {
        const statuses = await Promise.all(ids.map((id) => client.hget(fleet.keys.task(id), 'status')));
        return statuses.every((s) => s === 'succeeded');
      },
      { timeoutMs: 90_000, intervalMs: 500, message: 'not every task succeeded' },
    );
    const finals = new Map<string, number>();
    for (const [, f] of await client.xrange(fleet.keys.events, '-', '+')) {
      if (f[3] === 'succeeded') finals.set(f[1] ?? '', (finals.get(f[1] ?? '') ?? 0) + 1);
    }
    expect(finals.size).toBe(1000);
    expect([...finals.values()].every((n) => n === 1)).toBe(true);
  });

  it('completes a task whose process ended while Redis was down, once Redis is back', async () => {
    const fleet = await newFleet();
    const a = await fleet.start('tracker-a');
    const id = await fleet.submit({ executer: 'probe', gpus: 0, params: { sleepMs: 800 } });
    await waitFor(async () => (await getTask(fleet.client, fleet.keys, id))?.status === 'running');
    await redis.server.kill('SIGKILL');
    const downSince = Date.now();
    await a.waitForEvent('exited', undefined, 5000);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const errorsWhileDown = a.logs.filter((l) => l.level >= 40 && Number(l.time) >= downSince).length;
    const cpuBefore = a.usage().cpuMs;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const cpuWhileDownMs = a.usage().cpuMs - cpuBefore;
    await redis.server.restart();
    const task = await waitForFinal(redis.server.client(), fleet.keys, id, 15_000);
    expect(task).toMatchObject({ status: 'succeeded', attempt: 1, tracker: 'tracker-a' });
    expect(errorsWhileDown).toBeLessThanOrEqual(Math.ceil((Date.now() - downSince) / 1000) + 1); // one line a second
    expect(cpuWhileDownMs).toBeLessThan(200); // no busy loop: well under a fifth of a core
  });

  it('recovers from FLUSHALL within 5 s without spinning, and runs new tasks', async () => {
    const fleet = await newFleet();
    const a = await fleet.start('tracker-a');
    expect(
      (await waitForFinal(fleet.client, fleet.keys, await fleet.submit({ executer: 'noop-fast' }))).status,
    ).toBe('succeeded');
    await fleet.client.flushall();
    const flushedAt = Date.now();
    const cpuBefore = a.usage().cpuMs;
    const id = await waitFor(() => fleet.submit({ executer: 'noop-fast' }).catch(() => null), {
      timeoutMs: 5000,
    });
    const task = await waitForFinal(fleet.client, fleet.keys, id, 5000);
    expect(task.status).toBe('succeeded');
    expect(Date.now() - flushedAt).toBeLessThan(5000 + 1000);
    const elapsed = Date.now() - flushedAt;
    expect(a.usage().cpuMs - cpuBefore).toBeLessThan(elapsed * 0.5);
    expect(isFinal(task.status)).toBe(true);
  });
});
