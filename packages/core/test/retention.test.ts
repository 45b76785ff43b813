// The retention sweep against a real Redis and both artifact stores (the local folder store and
// the S3-protocol test server): finished tasks past their retention are archived (readable by id,
// listed by tenant and day) and then removed from Redis, hash, lease, live log and index entry;
// waiting and running tasks and finished tasks inside their window stay, whatever their age; a
// per-status and a per-tenant retention apply; a dry run changes nothing; an artifact store that
// fails removes nothing; a task that moved after the sweep read it stays (forget.lua checks again).
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETENTION,
  getTask,
  LocalArtifactStore,
  listArchivedDay,
  archiveDay,
  parseRetention,
  parseTenantRetention,
  readArchivedTask,
  sweepCaughtUp,
  sweepFinished,
  trimHistoryStreams,
  type ArtifactStore,
  type RetentionPolicy,
} from '@gpufleet/core';
import { useRedis, useS3Server, useTempDirs } from '@gpufleet/testkit';
import { fleetQueue as finishedTasksQueue, HOUR, policy, retentionStores } from './helpers/finished-tasks.js';

const redis = useRedis();
const s3 = useS3Server();
const temp = useTempDirs();

const stores = retentionStores(
  () => temp.make(),
  () => s3.server,
);
const fleetQueue = () => finishedTasksQueue(redis.server);

describe.each(Object.keys(stores))('the retention sweep on the %s store', (kind) => {
  it('archives and removes only finished tasks past their retention', async () => {
    const store = await stores[kind]!();
    const { client, keys, submit, take, finish } = await fleetQueue();
    const now = Date.now();
    await submit();
    await submit();
    await submit('alice');
    await submit();
    await submit();
    const oldOk = await finish('succeeded', now - 5 * HOUR); // 1 h for succeeded: due
    const oldFailed = await finish('failed', now - 5 * HOUR); // 10 h for failed: kept
    const alices = await finish('succeeded', now - 5 * HOUR); // alice keeps hers 1 d
    const fresh = await finish('succeeded', now - 1000); // inside its window
    const running = await take();
    const waiting = await submit();
    const rules = policy('succeeded=1h,failed=10h', 'alice=1d');

    const dry = await sweepFinished({ redis: client, keys, store, policy: rules, now, dryRun: true });
    expect(dry).toMatchObject({ due: 1, removed: 0, ids: [oldOk] });
    expect(await client.exists(keys.task(oldOk))).toBe(1);
    expect(await readArchivedTask(store, oldOk)).toBeNull();

    const swept = await sweepFinished({ redis: client, keys, store, policy: rules, now });
    expect(swept).toMatchObject({ due: 1, removed: 1, ids: [oldOk] });
    expect(await client.exists(keys.task(oldOk), keys.log(oldOk), keys.lease(oldOk))).toBe(0);
    expect(await client.zscore(keys.index, oldOk)).toBeNull();
    const archived = await readArchivedTask(store, oldOk);
    expect(archived).toMatchObject({
      id: oldOk,
      status: 'succeeded',
      endedAt: now - 5 * HOUR,
      archivedAt: now,
      executerVersion: '1',
    });
    const day = await listArchivedDay(store, 'default', archiveDay(now - 5 * HOUR));
    expect(day.map((t) => t.id)).toEqual([oldOk]);
    for (const id of [oldFailed, alices, fresh, running.taskId, waiting])
      expect(await getTask(client, keys, id)).not.toBeNull();

    // Hours later the failed one is due too; alice's still is not; waiting and running never.
    const later = await sweepFinished({ redis: client, keys, store, policy: rules, now: now + 6 * HOUR });
    expect(later.ids.sort()).toEqual([oldFailed, fresh].sort());
    expect(await getTask(client, keys, alices)).not.toBeNull();
    expect(await client.zcard(keys.index)).toBe(3);
  });

  it('removes nothing when the archive cannot be written', async () => {
    const { client, keys, submit, finish } = await fleetQueue();
    await submit();
    const id = await finish('succeeded', Date.now() - 5 * HOUR);
    const broken: ArtifactStore = Object.assign(Object.create(await stores[kind]!()) as ArtifactStore, {
      put: () => Promise.reject(new Error('the store is down')),
    });
    await expect(
      sweepFinished({ redis: client, keys, store: broken, policy: policy('1h'), now: Date.now() }),
    ).rejects.toThrow('the store is down');
    expect(await getTask(client, keys, id)).toMatchObject({ status: 'succeeded' });
    expect(await client.zscore(keys.index, id)).not.toBeNull();
  });
});

describe('retention', () => {
  it('keeps a task that moved after the sweep read it', async () => {
    const store = new LocalArtifactStore(await temp.make());
    const { client, keys, submit, finish } = await fleetQueue();
    await submit();
    const id = await finish('failed', Date.now() - 5 * HOUR);
    // What a retry of the task would look like to forget.lua: it ended at another time.
    const realPut = store.put.bind(store);
    store.put = async (key, source) => {
      await client.hset(keys.task(id), 'endedAt', String(Date.now()));
      return realPut(key, source);
    };
    const swept = await sweepFinished({ redis: client, keys, store, policy: policy('1h'), now: Date.now() });
    expect(swept).toMatchObject({ due: 1, removed: 0 });
    expect(await client.exists(keys.task(id))).toBe(1);
  });

  it('reads its settings, refusing bad ones with the reason', () => {
    expect(parseRetention('2d')).toEqual({
      succeeded: 172_800_000,
      cancelled: 172_800_000,
      failed: 172_800_000,
      timed_out: 172_800_000,
      dead: 172_800_000,
    });
    expect(parseRetention('succeeded=90s')).toEqual({ ...DEFAULT_RETENTION.byStatus, succeeded: 90_000 });
    expect(parseRetention('running=1d')).toMatch(/"running" is not a final status/);
    expect(parseRetention('soon')).toMatch(/"soon" is not a duration/);
    expect(parseRetention('3d,')).toBe('has an empty entry');
    expect(parseTenantRetention('alice=1d,bob:failed=30d,bob:max=500')).toEqual({
      tenants: {
        alice: {
          succeeded: 86_400_000,
          cancelled: 86_400_000,
          failed: 86_400_000,
          timed_out: 86_400_000,
          dead: 86_400_000,
        },
        bob: { failed: 2_592_000_000 },
      },
      tenantMax: { bob: 500 },
    });
    expect(parseTenantRetention('-x=1d')).toMatch(/"-x" is not a tenant name/);
    for (const bad of ['0', '-3', '2.5', 'many'])
      expect(parseTenantRetention(`bob:max=${bad}`)).toBe(
        `"bob:max=${bad}": the maximum must be an integer >= 1`,
      );
  });

  it('trims the events and dead-letter streams by age, keeping what is recent', async () => {
    const { client, keys } = await fleetQueue();
    const now = Date.now();
    const old = now - 20 * 86_400_000; // older than a day (events) and than 14 days (dead)
    for (const key of [keys.events, keys.dead]) {
      for (let i = 0; i < 300; i++) await client.xadd(key, `${old}-${i}`, 'id', `old${i}`);
      for (let i = 0; i < 3; i++) await client.xadd(key, '*', 'id', `new${i}`);
    }
    const removed = await trimHistoryStreams(client, keys, DEFAULT_RETENTION, now);
    // Whole stream nodes only (100 entries each): most of the old ones go at once, the rest next time.
    expect(removed).toBeGreaterThanOrEqual(2 * 200);
    for (const key of [keys.events, keys.dead]) {
      const left = await client.xrange(key, '-', '+');
      expect(left.slice(-3).map(([, f]) => f[1])).toEqual(['new0', 'new1', 'new2']);
      expect(left.length).toBeLessThanOrEqual(103);
    }
  });

  it('trims more than one call removes, and the events no longer than the longest retention', async () => {
    const { client, keys } = await fleetQueue();
    const now = Date.now();
    const minuteAgo = now - 120_000; // within a day, but past a policy whose longest retention is 60 s
    const pipeline = client.pipeline();
    // Entries the size of real events: a macro node (4 KiB) holds some 30, not 100, of them.
    const fields = [
      'id',
      'x'.repeat(26),
      'status',
      'succeeded',
      'tracker',
      'gpu-node-07',
      'reason',
      'y'.repeat(40),
    ];
    for (let i = 0; i < 3500; i++) pipeline.xadd(keys.events, `${minuteAgo}-${i}`, ...fields);
    await pipeline.exec();
    await client.xadd(keys.events, '*', 'id', 'new');
    expect(await trimHistoryStreams(client, keys, DEFAULT_RETENTION, now)).toBe(0); // a day's window
    const removed = await trimHistoryStreams(client, keys, policy('60s'), now);
    expect(removed).toBeGreaterThan(3000); // three calls' limit and more, in one run
    expect(await client.xlen(keys.events)).toBeLessThanOrEqual(101);
    expect(await client.xlen(keys.events)).toBeGreaterThanOrEqual(1); // the new one stays
  });

  it('archives the oldest finished tasks beyond the maximum count, whatever their age', async () => {
    const store = new LocalArtifactStore(await temp.make());
    const { client, keys, submit, finish } = await fleetQueue();
    for (let i = 0; i < 6; i++) await submit();
    const finished = [];
    for (let i = 0; i < 5; i++) finished.push(await finish('succeeded', Date.now()));
    const capped: RetentionPolicy = { ...policy('1h'), maxFinished: 2 };
    const options = { redis: client, keys, store, policy: capped, now: Date.now() };
    // Within its retention every task would stay; over the maximum, 3 of the 5 go (one still waits).
    expect(await sweepFinished({ ...options, policy: policy('1h') })).toMatchObject({ due: 0 });
    const swept = await sweepFinished(options);
    expect(swept).toMatchObject({ due: 3, removed: 3 });
    for (const id of swept.ids) expect(await readArchivedTask(store, id)).toMatchObject({ id });
    expect(await client.zcard(keys.index)).toBe(3); // 2 finished and the waiting one
    expect(await sweepFinished(options)).toMatchObject({ due: 0 });
  });

  it("archives a tenant's oldest finished tasks beyond its own maximum, and only that tenant's", async () => {
    const store = new LocalArtifactStore(await temp.make());
    const { client, keys, submit, finish } = await fleetQueue();
    for (let i = 0; i < 4; i++) await submit('alice');
    for (let i = 0; i < 3; i++) await submit('bob');
    await submit('alice'); // still waiting: never counted as finished
    const done: Record<string, string[]> = { alice: [], bob: [] };
    for (let i = 0; i < 7; i++) {
      const id = await finish('succeeded', Date.now());
      done[(await client.hget(keys.task(id), 'tenant')) as string]?.push(id);
    }
    expect(await client.hgetall(keys.tenantRecords)).toEqual({ alice: '5', bob: '3' });
    const capped = policy('1h', 'alice:max=2');
    const options = { redis: client, keys, store, policy: capped, now: Date.now() };
    // Within its retention every task would stay; alice is 2 over her maximum, bob has none.
    expect(await sweepFinished({ ...options, policy: policy('1h') })).toMatchObject({ due: 0 });
    const swept = await sweepFinished(options);
    expect(swept).toMatchObject({ due: 2, removed: 2 });
    for (const id of swept.ids) {
      expect(done.alice).toContain(id);
      expect(await readArchivedTask(store, id)).toMatchObject({ id, tenant: 'alice' });
    }
    for (const id of done.bob ?? []) expect(await client.exists(keys.task(id))).toBe(1);
    const kept = (done.alice ?? []).filter((id) => !swept.ids.includes(id));
    expect(kept).toHaveLength(2);
    expect(await client.hgetall(keys.tenantRecords)).toEqual({ alice: '3', bob: '3' });
    expect(await sweepFinished(options)).toMatchObject({ due: 0 });
  });

  it('stops at its limit exactly', async () => {
    const store = new LocalArtifactStore(await temp.make());
    const { client, keys, submit, finish } = await fleetQueue();
    await submit();
    await submit();
    const first = await finish('succeeded', Date.now() - 5 * HOUR);
    const second = await finish('succeeded', Date.now() - 5 * HOUR);
    const once = { redis: client, keys, store, policy: policy('1h'), now: Date.now(), limit: 1 };
    // Both were created in the same millisecond: which goes first is the index's tie order.
    const one = await sweepFinished(once);
    expect(one).toMatchObject({ due: 1, removed: 1 });
    const other = one.ids[0] === first ? second : first;
    expect(one.ids).toEqual([one.ids[0] === first ? first : second]);
    expect(await client.exists(keys.task(other))).toBe(1);
    expect(await sweepFinished(once)).toMatchObject({ due: 1, removed: 1, ids: [other] });
  });

  it('sweeps again while a sweep reaches its limit, until none is due or the budget is spent', async () => {
    const store = new LocalArtifactStore(await temp.make());
    const { client, keys, submit, finish } = await fleetQueue();
    for (let i = 0; i < 5; i++) await submit();
    for (let i = 0; i < 5; i++) await finish('succeeded', Date.now() - 5 * HOUR);
    const options = { redis: client, keys, store, policy: policy('1h'), limit: 2 };
    // No budget: one sweep only, its limit's worth.
    expect(await sweepCaughtUp(options, Date.now, 0)).toMatchObject({ sweeps: 1, removed: 2 });
    // A budget: sweeps until a sweep finds fewer than its limit due (2, then 1).
    expect(await sweepCaughtUp(options, Date.now, 60_000)).toMatchObject({ sweeps: 2, removed: 3 });
    expect(await client.zcard(keys.index)).toBe(0);
    // An aborted signal stops it after the sweep under way.
    for (let i = 0; i < 5; i++) await submit();
    for (let i = 0; i < 5; i++) await finish('succeeded', Date.now() - 5 * HOUR);
    const stopped = AbortSignal.abort();
    expect(await sweepCaughtUp(options, Date.now, 60_000, stopped)).toMatchObject({ sweeps: 1, removed: 2 });
  });
});
