// Retention on real trackers: two trackers of a queue with a short retention run tasks; one of
// them holds the retention lease and sweeps, and every finished task leaves Redis once its
// retention has passed, archived first (readable by id, its outputs untouched), while a task that
// waits behind a running one stays. When the archive cannot be written, nothing leaves Redis, the
// pause is logged once, and the sweep resumes by itself once the store is back. The trackers also
// announce the Redis function libraries they run (function-versions.ts).
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETENTION,
  enqueue,
  getTask,
  LocalArtifactStore,
  luaScript,
  queueKeys,
  readArchivedTask,
  SCRIPT_NAMES,
  type RetentionPolicy,
} from '@gpufleet/core';
import { uniquePrefix, useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import type { Tracker } from '@gpufleet/tracker';
import { startTestTracker, useTrackers, waitForFinal } from './helpers/fleet.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();

/** Every final status kept 300 ms. */
const SHORT: RetentionPolicy = {
  byStatus: Object.fromEntries(Object.keys(DEFAULT_RETENTION.byStatus).map((s) => [s, 300])),
  tenants: {},
};

describe('retention on real trackers', () => {
  it('archives finished tasks and removes them from Redis, one tracker sweeping, the waiting left', async () => {
    const prefix = uniquePrefix();
    const client = redis.server.client();
    const keys = queueKeys(prefix, 'default');
    const artifactDir = await temp.make();
    const store = new LocalArtifactStore(artifactDir);
    for (const consumerName of ['keep-a', 'keep-b']) {
      const options = { redisUrl: redis.server.url, prefix, consumerName, artifactDir, gpuIds: [0] };
      const tracker = await startTestTracker({
        ...options,
        workDir: await temp.make(),
        cpuSlots: 0,
        retention: SHORT,
        retentionSweepMs: 200,
        shutdownGraceMs: 200, // the blockers are handed back at once when the test ends
      });
      trackers.push(tracker);
    }
    const submit = async (sleepMs: number): Promise<string> =>
      (
        await enqueue(
          { redis: client, prefix },
          { executer: 'probe', params: { sleepMs, files: { 'a.txt': 'kept' } } },
        )
      ).id;
    const done = [await submit(10), await submit(10), await submit(10)];
    for (const id of done)
      expect(await waitForFinal(client, keys, id)).toMatchObject({ status: 'succeeded' });
    const blockers = [await submit(5000), await submit(5000)];
    const waiting = await submit(10);
    for (const id of done) {
      const archived = await waitFor(() => readArchivedTask(store, id), { timeoutMs: 10_000 });
      expect(archived).toMatchObject({ id, status: 'succeeded' });
      expect(archived.outputs?.files.map((f) => f.path)).toContain('a.txt');
      await waitFor(async () => (await client.exists(keys.task(id), keys.log(id))) === 0);
      expect(await client.zscore(keys.index, id)).toBeNull();
    }
    // The outputs stay where they were.
    const outputs = (await readArchivedTask(store, done[0] as string))?.outputs;
    expect(await store.stat(`${outputs?.prefix}/a.txt`)).toMatchObject({ size: 4 });
    expect(['keep-a', 'keep-b']).toContain(await client.get(keys.retentionLease));
    // Each run also says which Redis function libraries the trackers run (kept from deletion).
    expect(await client.hkeys(keys.functionsSeen)).toEqual(
      expect.arrayContaining(SCRIPT_NAMES.map((name) => luaScript(name).fn)),
    );
    for (const id of [...blockers, waiting]) expect(await getTask(client, keys, id)).not.toBeNull();
    expect((await getTask(client, keys, waiting))?.status).toBe('queued');
  });

  it('removes nothing while the archive cannot be written, says so once, and resumes', async () => {
    const prefix = uniquePrefix();
    const client = redis.server.client();
    const keys = queueKeys(prefix, 'default');
    const artifactDir = await temp.make();
    const store = new LocalArtifactStore(artifactDir);
    let archiveDown = true;
    let refused = 0;
    const put = store.put.bind(store);
    store.put = (key, source) => {
      if (!archiveDown || !key.startsWith('_archive/')) return put(key, source);
      refused++;
      return Promise.reject(new Error('archive bucket unreachable'));
    };
    const lines: Array<{ msg?: string }> = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => lines.push(JSON.parse(line) as { msg?: string }) },
    );
    const tracker: Tracker = await startTestTracker({
      redisUrl: redis.server.url,
      prefix,
      artifactDir,
      store,
      logger,
      workDir: await temp.make(),
      gpuIds: [0],
      cpuSlots: 0,
      retention: SHORT,
      retentionSweepMs: 100,
    });
    trackers.push(tracker);
    const id = (await enqueue({ redis: client, prefix }, { executer: 'probe', params: { sleepMs: 10 } })).id;
    await waitForFinal(client, keys, id);
    const paused = (): number => lines.filter((l) => l.msg?.startsWith('retention sweep paused')).length;
    // Three sweeps refused (backing off: 200, 400 ms), one line, and the task is still in Redis.
    await waitFor(() => refused >= 3, { timeoutMs: 5000 });
    expect(paused()).toBe(1);
    expect(await getTask(client, keys, id)).toMatchObject({ status: 'succeeded' });
    archiveDown = false;
    await waitFor(async () => (await client.exists(keys.task(id))) === 0, { timeoutMs: 15_000 });
    expect(await readArchivedTask(store, id)).toMatchObject({ id });
    expect(paused()).toBe(1);
    expect(lines.some((l) => l.msg === 'retention sweep resumed')).toBe(true);
  });
});
