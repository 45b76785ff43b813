/**
 * The queue's two history streams kept bounded by age as well as by length: the events stream
 * (status changes, read by followers and by trackers waiting for the queue to change, always from
 * a recent id) keeps EVENTS_RETENTION_MS or the policy's longest retention if shorter, and the dead-letter stream keeps what the retention of
 * `dead` tasks keeps (its entries name tasks that are gone from Redis after that). Neither has a
 * consumer group, so no entry waits for an acknowledgement. XTRIM MINID with `~` and a LIMIT:
 * whole macro nodes only, at most TRIM_LIMIT entries a call, so a trim never stalls Redis; calls
 * repeat until one removes nothing (a busy queue adds more than one call's worth per period).
 */
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import type { TaskStatus } from '../task-status.js';
import type { RetentionPolicy } from './retention-policy.js';

/**
 * How long the events stream keeps an entry at most (it is capped by length too: EVENTS_MAX_LEN),
 * and no longer than the longest retention of the policy: an entry older than that names a task
 * that is gone from Redis, and a follower that far behind is told to resync anyway.
 */
export const EVENTS_RETENTION_MS = 86_400_000;
const TRIM_LIMIT = 1000;
/** Trim calls per stream and run at most: a run removes up to 100,000 entries, each call short. */
const TRIM_CALLS = 100;

/** The longest a task of `statuses` is kept in Redis under `policy`, of every tenant. */
function longestRetention(policy: RetentionPolicy, statuses?: readonly TaskStatus[]): number {
  const all = [policy.byStatus, ...Object.values(policy.tenants)].flatMap((byStatus) =>
    Object.entries(byStatus).flatMap(([s, ms]) =>
      !statuses || statuses.includes(s as TaskStatus) ? [ms as number] : [],
    ),
  );
  return Math.max(0, ...all);
}

/** Trims both streams by age; returns how many entries went. */
export async function trimHistoryStreams(
  redis: Redis,
  keys: QueueKeys,
  policy: RetentionPolicy,
  now: number,
): Promise<number> {
  const trim = async (key: string, keepMs: number): Promise<number> => {
    const minId = Math.max(0, Math.floor(now - keepMs));
    let removed = 0;
    for (let call = 0; call < TRIM_CALLS; call++) {
      const one = await redis.xtrim(key, 'MINID', '~', minId, 'LIMIT', TRIM_LIMIT);
      removed += one;
      // `~` removes whole macro nodes only, at most TRIM_LIMIT entries: a call removes less than
      // its limit whenever nodes do not add up to it exactly, so only a call that removed nothing
      // (the oldest node left holds an entry to keep) says it is done.
      if (one === 0) break;
    }
    return removed;
  };
  const events = await trim(keys.events, Math.min(EVENTS_RETENTION_MS, longestRetention(policy)));
  const dead = await trim(keys.dead, longestRetention(policy, ['dead']));
  return events + dead;
}
