/**
 * The queue's two history streams kept bounded by age as well as by length: the events stream
 * (status changes, read by followers and by trackers waiting for the queue to change, always from
 * a recent id) keeps EVENTS_RETENTION_MS, and the dead-letter stream keeps what the retention of
 * `dead` tasks keeps (its entries name tasks that are gone from Redis after that). Neither has a
 * consumer group, so no entry waits for an acknowledgement. XTRIM MINID with `~` and a LIMIT:
 * whole macro nodes only, at most TRIM_LIMIT entries a call, so a trim never stalls Redis; what is
 * left over goes at the next sweep.
 */
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import type { RetentionPolicy } from './retention-policy.js';

/** How long the events stream keeps an entry (it is capped by length too: EVENTS_MAX_LEN). */
export const EVENTS_RETENTION_MS = 86_400_000;
const TRIM_LIMIT = 1000;

/** The longest any `dead` task is kept in Redis under `policy`. */
function longestDeadRetention(policy: RetentionPolicy): number {
  const all = [policy.byStatus.dead, ...Object.values(policy.tenants).map((t) => t.dead)];
  return Math.max(...all.filter((ms): ms is number => typeof ms === 'number'));
}

/** Trims both streams by age; returns how many entries went. */
export async function trimHistoryStreams(
  redis: Redis,
  keys: QueueKeys,
  policy: RetentionPolicy,
  now: number,
): Promise<number> {
  const trim = (key: string, keepMs: number): Promise<number> =>
    redis.xtrim(key, 'MINID', '~', Math.max(0, Math.floor(now - keepMs)), 'LIMIT', TRIM_LIMIT);
  const events = await trim(keys.events, EVENTS_RETENTION_MS);
  const dead = await trim(keys.dead, longestDeadRetention(policy));
  return events + dead;
}
