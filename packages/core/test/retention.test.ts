// The retention sweep against a real Redis and both artifact stores (the local folder store and
// the S3-protocol test server): finished tasks past their retention are archived (readable by id,
// listed by tenant and day) and then removed from Redis, hash, lease, live log and index entry;
// waiting and running tasks and finished tasks inside their window stay, whatever their age; a
// per-status and a per-tenant retention apply; a dry run changes nothing; an artifact store that
// fails removes nothing; a task that moved after the sweep read it stays (forget.lua checks again).
import { describe, expect, it } from 'vitest';
import {
  completeTask,
  DEFAULT_RETENTION,
  enqueue,
  getTask,
  LocalArtifactStore,
  listArchivedDay,
  archiveDay,
  parseRetention,
  parseTenantRetention,
  readArchivedTask,
  S3ArtifactStore,
  sweepFinished,
  trimHistoryStreams,
  takeTask,
  type ArtifactStore,
  type Claim,
  type RetentionPolicy,
} from '@gpufleet/core';
import { useRedis, useS3Server, useTempDirs } from '@gpufleet/testkit';
import { noopQueue } from './helpers/noop-queue.js';

const redis = useRedis();
const s3 = useS3Server();
const temp = useTempDirs();
const HOUR = 3_600_000;

const stores: Record<string, () => Promise<ArtifactStore>> = {
  local: async () => new LocalArtifactStore(await temp.make()),
  s3: async () => {
    const { endpoint, region, credentials, bucket } = s3.server;
    return new S3ArtifactStore({
      bucket,
      prefix: `retention-${Math.random().toString(36).slice(2)}`,
      endpoint,
      region,
      credentials,
      forcePathStyle: true,
      maxAttempts: 1,
    });
  },
};

async function fleetQueue() {
  const queue = await noopQueue(redis.server);
  const { client, keys, prefix } = queue;
  // Submitted 10 hours ago: the sweep looks only at tasks created before its shortest retention.
  const createdAt = Date.now() - 10 * HOUR;
  const submit = async (tenant = 'default'): Promise<string> =>
    (await enqueue({ redis: client, prefix, now: () => createdAt }, { executer: 'noop' }, { tenant })).id;
  const take = async (): Promise<Claim> => {
    const result = await takeTask(client, keys, {
      consumer: 'a',
      sizes: [{ gpus: 0, fitsNow: true }],
      leaseMs: 60_000,
      token: `t-${Math.random()}`,
      now: Date.now(),
      idle: false,
    });
    if (result.kind !== 'claimed') throw new Error(`nothing claimed: ${result.kind}`);
    return result.claim;
  };
  /** Runs the next task in line and ends it `status` at `endedAt`. */
  const finish = async (status: 'succeeded' | 'failed', endedAt: number): Promise<string> => {
    const claim = await take();
    await client.xadd(keys.log(claim.taskId), '*', 's', 'stdout', 'd', 'a line');
    expect(await completeTask(client, keys, claim, status, endedAt, '')).toBe(true);
    return claim.taskId;
  };
  return { ...queue, submit, take, finish };
}

const policy = (byStatus: string, tenants?: string): RetentionPolicy => ({
  byStatus: parseRetention(byStatus) as RetentionPolicy['byStatus'],
  tenants: tenants ? (parseTenantRetention(tenants) as RetentionPolicy['tenants']) : {},
});

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
    expect(parseTenantRetention('alice=1d,bob:failed=30d')).toEqual({
      alice: {
        succeeded: 86_400_000,
        cancelled: 86_400_000,
        failed: 86_400_000,
        timed_out: 86_400_000,
        dead: 86_400_000,
      },
      bob: { failed: 2_592_000_000 },
    });
    expect(parseTenantRetention('-x=1d')).toMatch(/"-x" is not a tenant name/);
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
});
