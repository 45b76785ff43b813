/**
 * The retention sweep: finished tasks whose retention (retention-policy.ts) has passed are written
 * to the archive (task-archive.ts) and then removed from Redis (lua/forget.lua), in batches of at
 * most BATCH tasks, so no Redis command it sends runs long (the take path never waits behind it).
 * The queue's index (task ids by creation time) is walked from the oldest up to now minus the
 * shortest retention: a task created after that cannot have ended long enough ago. Waiting and
 * running tasks are read and left; nothing is removed whose archive write did not succeed (an
 * artifact store outage throws, and the caller tries again later); forget.lua checks each task
 * again in the step that removes it. `dryRun` says what would go and changes nothing. A queue that
 * holds more finished tasks than the policy's `maxFinished` has the excess archived first, the
 * oldest-created first, whatever their age; so has a tenant beyond its own maximum (`tenantMax`),
 * counted from its task records (keys.ts `tenantRecords`) less its waiting and running tasks.
 */
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { forgetTasks } from '../protocol/forget.js';
import { parseTaskRecord } from '../task-record.js';
import { readTenantAccounts } from '../tenant-accounts.js';
import { isTaskStatus } from '../task-status.js';
import { retentionOf, shortestRetention, type RetentionPolicy } from './retention-policy.js';
import { listOutputsDue } from './outputs-retention.js';
import { archiveTask } from './task-archive.js';

/** Tasks read and archived per step (forget.ts removes them in smaller calls). */
export const RETENTION_BATCH = 100;
/** Archive writes in flight at once. */
const ARCHIVE_CONCURRENCY = 8;

export interface SweepOptions {
  redis: Redis;
  keys: QueueKeys;
  store: ArtifactStore;
  policy: RetentionPolicy;
  now: number;
  /** Say what would be removed; archive and remove nothing. */
  dryRun?: boolean;
  /** Stop after this many tasks were found due (one sweep's share; the next goes on). */
  limit?: number;
  batch?: number;
}

export interface SweepResult {
  /** Task ids of the index read. */
  scanned: number;
  /** Tasks due: archived and removed (or, in a dry run, that would be). */
  due: number;
  /** Of those, removed from Redis. */
  removed: number;
  /** The ids of the tasks due, up to the first 1,000 (a dry run's answer). */
  ids: string[];
}

async function inBatches<T>(
  items: readonly T[],
  size: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}

/** Finished tasks held beyond a maximum: the queue's, and each capped tenant's. */
interface Excess {
  left: number;
  tenants: Record<string, number>;
}

/**
 * Finished tasks held beyond the policy's `maxFinished` (0 without one), and beyond each tenant's
 * `tenantMax`: records (the index's, or the tenant's count) less the waiting and running ones of
 * the tenant accounts. A task uploading its outputs counts as finished here, so a queue keeps at
 * most its maximum, and a few fewer while tasks upload.
 */
async function overMax(redis: Redis, keys: QueueKeys, policy: RetentionPolicy): Promise<Excess> {
  const capped = Object.entries(policy.tenantMax ?? {});
  const excess: Excess = { left: 0, tenants: {} };
  if (policy.maxFinished === undefined && capped.length === 0) return excess;
  const [records, accounts, counts] = await Promise.all([
    redis.zcard(keys.index),
    readTenantAccounts(redis, keys),
    capped.length > 0 ? redis.hmget(keys.tenantRecords, ...capped.map(([tenant]) => tenant)) : [],
  ]);
  const live = (a?: { waiting: number; runningTasks: number }): number =>
    a ? a.waiting + a.runningTasks : 0;
  if (policy.maxFinished !== undefined) {
    const all = Object.values(accounts).reduce((sum, a) => sum + live(a), 0);
    excess.left = Math.max(0, records - all - policy.maxFinished);
  }
  capped.forEach(([tenant, max], i) => {
    const over = Number(counts[i] ?? 0) - live(accounts[tenant]) - max;
    if (over > 0) excess.tenants[tenant] = over;
  });
  return excess;
}

/** Whether `excess` holds anything: then any finished task may be due, whatever its age. */
function anyExcess(excess: Excess): boolean {
  return excess.left > 0 || Object.keys(excess.tenants).length > 0;
}

/**
 * The tasks of `ids` whose retention has passed, with the `endedAt` each was read with; while
 * `excess.left` > 0 (the queue holds more than its maximum), or its tenant's excess is, any
 * finished task is due too.
 */
async function dueOf(
  redis: Redis,
  keys: QueueKeys,
  ids: readonly string[],
  policy: RetentionPolicy,
  now: number,
  excess: Excess,
): Promise<{ due: Array<{ id: string; endedAt: string }>; missing: string[] }> {
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hmget(keys.task(id), 'status', 'endedAt', 'tenant');
  const replies = (await pipeline.exec()) ?? [];
  const due: Array<{ id: string; endedAt: string }> = [];
  const missing: string[] = [];
  ids.forEach((id, i) => {
    const [error, fields] = replies[i] ?? [null, null];
    if (error) throw error;
    const [status, endedAt, tenant] = (fields ?? []) as Array<string | null>;
    if (!status) return void missing.push(id);
    if (!isTaskStatus(status) || !endedAt) return;
    const owner = tenant || 'default';
    const keep = retentionOf(policy, owner, status);
    if (keep === null) return;
    const over = excess.tenants[owner] ?? 0;
    if (Number(endedAt) + keep > now && excess.left <= 0 && over <= 0) return;
    // Due by age or by a maximum: it counts against both excesses either way.
    excess.left--;
    if (over > 0) excess.tenants[owner] = over - 1;
    else delete excess.tenants[owner];
    due.push({ id, endedAt });
  });
  return { due, missing };
}

export async function sweepFinished(options: SweepOptions): Promise<SweepResult> {
  const { redis, keys, store, policy, now } = options;
  const batch = options.batch ?? RETENTION_BATCH;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const excess = await overMax(redis, keys, policy);
  // Over a maximum, any finished task may be due: the whole index is walked, oldest first.
  const cutoff = anyExcess(excess) ? '+inf' : now - shortestRetention(policy);
  const result: SweepResult = { scanned: 0, due: 0, removed: 0, ids: [] };
  let offset = 0; // index entries kept so far: the next batch starts after them
  while (result.due < limit) {
    const ids = await redis.zrangebyscore(keys.index, '-inf', cutoff, 'LIMIT', offset, batch);
    result.scanned += ids.length;
    const found = await dueOf(redis, keys, ids, policy, now, excess);
    const { missing } = found;
    const due = found.due.slice(0, limit - result.due); // no more than `limit` in all
    result.due += due.length;
    for (const { id } of due) if (result.ids.length < 1000) result.ids.push(id);
    if (options.dryRun) {
      offset += ids.length;
    } else {
      const records = await redis.pipeline(due.map(({ id }) => ['hgetall', keys.task(id)])).exec();
      const hashes = (records ?? []).map(([, hash]) => hash as Record<string, string>);
      const parsed = hashes.map((hash) => parseTaskRecord(hash));
      // Only what the archive holds may go: a record that does not parse stays (and is counted kept).
      const archived = due.filter((_, i) => parsed[i] !== null);
      const toArchive = parsed.flatMap((record, i) =>
        record ? [{ record, version: hashes[i]?.executerVersion || null }] : [],
      );
      await inBatches(toArchive, ARCHIVE_CONCURRENCY, ({ record, version }) =>
        archiveTask(store, record, now, version),
      );
      await listOutputsDue(
        redis,
        keys,
        policy,
        toArchive.map(({ record }) => record),
      );
      const removed = await forgetTasks(redis, keys, archived, now);
      // For /metrics (queue-memory.ts); a crash before it loses a count, never a task.
      if (removed > 0) await redis.hincrby(keys.retentionStats, 'archived', removed);
      // An index entry without a task hash is a leftover: enqueue writes both in one step.
      if (missing.length > 0) await redis.zrem(keys.index, ...missing);
      result.removed += removed;
      offset += ids.length - removed - missing.length;
    }
    if (ids.length < batch) break;
  }
  return result;
}

/**
 * Sweeps again while a sweep reaches its `limit` (due tasks were left: a burst finished), for at
 * most `budgetMs` and until `signal` aborts, so that clean-up keeps pace with any rate a fleet
 * runs at while each sweep stays short. Each sweep reads `now()` afresh.
 */
export async function sweepCaughtUp(
  options: Omit<SweepOptions, 'now' | 'dryRun'> & { limit: number },
  now: () => number,
  budgetMs: number,
  signal?: AbortSignal,
): Promise<SweepResult & { sweeps: number }> {
  const total = { scanned: 0, due: 0, removed: 0, ids: [] as string[], sweeps: 0 };
  const started = now();
  for (;;) {
    const at = now();
    const one = await sweepFinished({ ...options, now: at });
    total.sweeps++;
    total.scanned += one.scanned;
    total.due += one.due;
    total.removed += one.removed;
    total.ids.push(...one.ids.slice(0, 1000 - total.ids.length));
    if (one.due < options.limit || signal?.aborted || at - started >= budgetMs) return total;
  }
}
