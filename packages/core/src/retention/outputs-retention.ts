/**
 * The optional outputs retention (GPUFLEET_OUTPUTS_RETENTION, off by default): a finished task's
 * outputs (every attempt's folder, `<tenant>/<task>/<attempt>/`; its inputs stay) are deleted from
 * the artifact store once the task has been archived and the outputs retention has passed since
 * it ended. The retention sweep lists each task it archives in the queue's `outputsDue` set (only
 * with an outputs retention), by its end time; `sweepOutputs` takes the due ones oldest first,
 * deletes their folders, marks the archived record (`outputsDeletedAt`, so the API can say why
 * they are gone) and only then leaves the set: a store that fails leaves them listed, tried again.
 * Outputs of tasks archived while the setting was off are kept.
 */
import type { Redis } from 'ioredis';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { QueueKeys } from '../keys.js';
import type { TaskRecord } from '../task-record.js';
import { attemptPrefix } from '../task-record.js';
import type { RetentionPolicy } from './retention-policy.js';
import { archivedTaskKey, readArchivedTask } from './task-archive.js';

/** Tasks whose outputs one step deletes. */
const OUTPUTS_BATCH = 50;

/** Lists archived `records` for the outputs retention (nothing without one). */
export async function listOutputsDue(
  redis: Redis,
  keys: QueueKeys,
  policy: RetentionPolicy,
  records: readonly TaskRecord[],
): Promise<void> {
  if (policy.outputsMs === undefined) return;
  const args = records.flatMap((r) => [String(r.endedAt ?? 0), `${r.tenant}/${r.id}/${r.attempt}`]);
  if (args.length > 0) await redis.zadd(keys.outputsDue, ...args);
}

export interface OutputsSweepOptions {
  redis: Redis;
  keys: QueueKeys;
  store: ArtifactStore;
  policy: RetentionPolicy;
  now: number;
  /** Stop after this many tasks' outputs were deleted (one run's share). */
  limit?: number;
}

/** Deletes the outputs due; returns how many tasks' outputs went. */
export async function sweepOutputs(options: OutputsSweepOptions): Promise<number> {
  const { redis, keys, store, policy, now } = options;
  if (policy.outputsMs === undefined) return 0;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  let deleted = 0;
  while (deleted < limit) {
    const count = Math.min(OUTPUTS_BATCH, limit - deleted);
    const due = await redis.zrangebyscore(keys.outputsDue, '-inf', now - policy.outputsMs, 'LIMIT', 0, count);
    for (const member of due) {
      const [tenant = '', id = '', attempts = '0'] = member.split('/');
      for (let attempt = 1; attempt <= Number(attempts); attempt++)
        await store.deletePrefix(attemptPrefix(tenant, id, attempt));
      const archived = await readArchivedTask(store, id);
      if (archived && archived.outputsDeletedAt === undefined)
        await store.put(archivedTaskKey(id), JSON.stringify({ ...archived, outputsDeletedAt: now }));
      await redis.zrem(keys.outputsDue, member);
      deleted++;
    }
    if (due.length < count) break;
  }
  return deleted;
}
