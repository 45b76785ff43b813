/**
 * The retention sweep: finished tasks whose retention (retention-policy.ts) has passed are written
 * to the archive (task-archive.ts) and then removed from Redis (lua/forget.lua), in batches of at
 * most BATCH tasks, so no Redis command it sends runs long (the take path never waits behind it).
 * The queue's index (task ids by creation time) is walked from the oldest up to now minus the
 * shortest retention: a task created after that cannot have ended long enough ago. Waiting and
 * running tasks are read and left; nothing is removed whose archive write did not succeed (an
 * artifact store outage throws, and the caller tries again later); forget.lua checks each task
 * again in the step that removes it. `dryRun` says what would go and changes nothing.
 */
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { forgetTasks } from '../protocol/forget.js';
import { parseTaskRecord } from '../task-record.js';
import { isTaskStatus } from '../task-status.js';
import { retentionOf, shortestRetention, type RetentionPolicy } from './retention-policy.js';
import { archiveTask } from './task-archive.js';

/** Tasks read, archived and removed per step: forget.lua's run stays well under a millisecond. */
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

/** The tasks of `ids` whose retention has passed, with the `endedAt` each was read with. */
async function dueOf(
  redis: Redis,
  keys: QueueKeys,
  ids: readonly string[],
  policy: RetentionPolicy,
  now: number,
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
    const keep = retentionOf(policy, tenant ?? 'default', status);
    if (keep !== null && Number(endedAt) + keep <= now) due.push({ id, endedAt });
  });
  return { due, missing };
}

export async function sweepFinished(options: SweepOptions): Promise<SweepResult> {
  const { redis, keys, store, policy, now } = options;
  const batch = options.batch ?? RETENTION_BATCH;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const cutoff = now - shortestRetention(policy);
  const result: SweepResult = { scanned: 0, due: 0, removed: 0, ids: [] };
  let offset = 0; // index entries kept so far: the next batch starts after them
  while (result.due < limit) {
    const ids = await redis.zrangebyscore(keys.index, '-inf', cutoff, 'LIMIT', offset, batch);
    result.scanned += ids.length;
    const found = await dueOf(redis, keys, ids, policy, now);
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
      const removed = await forgetTasks(redis, keys, archived, now);
      // An index entry without a task hash is a leftover: enqueue writes both in one step.
      if (missing.length > 0) await redis.zrem(keys.index, ...missing);
      result.removed += removed;
      offset += ids.length - removed - missing.length;
    }
    if (ids.length < batch) break;
  }
  return result;
}
