// SIGTERM while Redis is unreachable: an idle tracker, and one still waiting for Redis at start,
// exit 0 within a couple of seconds; a busy one kills its task at the shutdown grace and exits
// within grace + kill grace + 1 s, and what it could not hand back is run once by another tracker
// when Redis is back; a tracker told to stop during the outage starts nothing once Redis returns.
import { describe, expect, it } from 'vitest';
import { enqueue, getTask } from '@gpufleet/core';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { useFaultFleets } from './helpers/fault-fleet.js';
import { waitForFinal } from './helpers/fleet.js';
import { processAlive, TrackerProcess } from './helpers/tracker-process.js';

const redis = useRedis({ appendOnly: true, appendFsync: 'always' });
const temp = useTempDirs();
const newFleet = useFaultFleets(redis, temp);
/** The helper's timings (tracker-process.ts): kill grace 1 s; this file's shutdown grace 2 s. */
const KILL_GRACE_MS = 1000;
const SHUTDOWN_GRACE_MS = 2000;
const ENV = { GPUFLEET_SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS) };

/** Sends SIGTERM and resolves with the exit code and how long the exit took. */
async function terminate(tracker: TrackerProcess): Promise<{ code: number | null; ms: number }> {
  const at = Date.now();
  tracker.signal('SIGTERM');
  const { code } = await tracker.exited;
  return { code, ms: Date.now() - at };
}

describe('SIGTERM while Redis is down', () => {
  it('an idle tracker exits 0 at once', async () => {
    const fleet = await newFleet();
    const a = await fleet.start('tracker-a', ENV);
    await redis.server.kill('SIGKILL');
    await a.waitForEvent('redis-down', undefined, 5000);
    const { code, ms } = await terminate(a);
    await redis.server.restart();
    expect(code).toBe(0);
    expect(ms).toBeLessThan(2000);
  });

  it('a tracker still waiting for Redis at start exits 0 at once', async () => {
    const fleet = await newFleet();
    await redis.server.kill('SIGKILL');
    const a = new TrackerProcess({
      redisUrl: redis.server.url,
      prefix: fleet.prefix,
      name: 'tracker-a',
      artifactDir: fleet.artifactDir,
      workDir: fleet.workDir,
      env: ENV,
    });
    try {
      await a.waitForEvent('waiting-for-redis', undefined, 10_000);
      const { code, ms } = await terminate(a);
      expect(code).toBe(0);
      expect(ms).toBeLessThan(2000);
    } finally {
      await a.stop();
      await redis.server.restart();
    }
  });

  it('a busy tracker kills its task at the grace and exits in time; another tracker runs it once when Redis is back', async () => {
    const fleet = await newFleet();
    const a = await fleet.start('tracker-a', ENV);
    const id = await fleet.submit({ executer: 'probe', gpus: 0, params: { sleepMs: 60_000 } });
    const pid = await waitFor(
      async () => Number(await fleet.client.hget(fleet.keys.task(id), 'pid')) || null,
    );
    await redis.server.kill('SIGKILL');
    const { code, ms } = await terminate(a);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(SHUTDOWN_GRACE_MS + KILL_GRACE_MS + 1000);
    expect(processAlive(pid)).toBe(false);
    await redis.server.restart();
    const client = redis.server.client();
    await client.hset(fleet.keys.task(id), 'params', JSON.stringify({ sleepMs: 200 })); // short the second time
    const b = await fleet.start('tracker-b', ENV);
    const task = await waitForFinal(client, fleet.keys, id, 20_000);
    expect(task).toMatchObject({ status: 'succeeded', tracker: 'tracker-b', attempt: 2 });
    const events = (await client.xrange(fleet.keys.events, '-', '+')).filter(([, f]) => f[1] === id);
    expect(events.filter(([, f]) => f[3] === 'succeeded')).toHaveLength(1);
    await b.stop();
  });

  it('a tracker told to stop during the outage starts nothing when Redis is back before it exits', async () => {
    const fleet = await newFleet();
    // One slot busy with a task that outlives Redis's return; the other free, blocked on the read.
    const a = await fleet.start('tracker-a', { ...ENV, GPUFLEET_SHUTDOWN_GRACE_MS: '6000' });
    const long = await fleet.submit({ executer: 'probe', gpus: 0, params: { sleepMs: 4000 } });
    await waitFor(async () => (await getTask(fleet.client, fleet.keys, long))?.status === 'running' || null);
    await redis.server.kill('SIGKILL');
    a.signal('SIGTERM');
    await a.waitForEvent('stopping', undefined, 5000);
    await redis.server.restart();
    const client = redis.server.client();
    const { id: late } = await enqueue(
      { redis: client, prefix: fleet.prefix },
      { executer: 'probe', gpus: 0 },
    );
    const { code } = await a.exited;
    expect(code).toBe(0);
    expect(await getTask(client, fleet.keys, late)).toMatchObject({ status: 'queued', attempt: 0 });
    expect((await getTask(client, fleet.keys, long))?.status).toBe('succeeded');
  });
});
