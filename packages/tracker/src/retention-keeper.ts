/**
 * The tracker's part of retention: every GPUFLEET_RETENTION_SWEEP_MS, the one tracker of the queue
 * that holds the retention lease (a key with a TTL of three periods, taken when free, renewed by
 * its holder) runs core's retention sweep: finished tasks past their retention are archived to the
 * artifact store, then removed from Redis, at most SWEEP_LIMIT a run; and the events and dead-letter
 * streams are trimmed by age (core stream-trim.ts). An artifact store that fails
 * pauses it: logged once with its cause, tried again with a backoff doubling up to ten minutes, and
 * nothing is removed meanwhile; the first run that succeeds again says so.
 * With an outputs retention, the same run deletes the outputs of archived tasks past it.
 * Every tracker also says at each run which Redis function libraries it runs, and the lease's
 * holder deletes those of versions no process has run for a week (core function-versions.ts).
 */
import type { Redis } from 'ioredis';
import {
  announceFunctions,
  isRedisUnavailable,
  pruneFunctions,
  sweepCaughtUp,
  sweepOutputs,
  trimHistoryStreams,
  type ArtifactStore,
  type Logger,
  type QueueKeys,
  type RetentionPolicy,
} from '@gpufleet/core';

/**
 * Tasks archived per sweep; a run sweeps again while a sweep reaches it, for at most half a period
 * (core sweepCaughtUp), so clean-up keeps pace with a burst and a run still ends.
 */
const SWEEP_LIMIT = 2000;
const MAX_BACKOFF_MS = 600_000;

export interface RetentionKeeperDeps {
  redis: Redis;
  keys: QueueKeys;
  store: ArtifactStore;
  consumer: string;
  policy: RetentionPolicy;
  periodMs: number;
  logger: Logger;
  now: () => number;
  /** Aborted when the tracker stops: a run that goes on past its limit stops then. */
  signal?: AbortSignal;
}

export class RetentionKeeper {
  private failures = 0;
  private resumeAt = 0;

  constructor(private readonly deps: RetentionKeeperDeps) {}

  /** One run, if this tracker holds (or takes) the lease and no backoff is under way. */
  async run(): Promise<void> {
    const { redis, keys, store, policy, logger } = this.deps;
    const now = this.deps.now();
    await announceFunctions(redis, keys.functionsSeen, now);
    if (!(await this.holdLease())) return;
    const pruned = await pruneFunctions(redis, keys.functionsSeen, now);
    if (pruned.length > 0)
      logger.info({ libraries: pruned }, 'deleted the Redis functions of versions not run for a week');
    if (now < this.resumeAt) return;
    try {
      const sweep = { redis, keys, store, policy, limit: SWEEP_LIMIT };
      const budgetMs = this.deps.periodMs / 2;
      const swept = await sweepCaughtUp(sweep, this.deps.now, budgetMs, this.deps.signal);
      await trimHistoryStreams(redis, keys, policy, now);
      const outputs = await sweepOutputs({ redis, keys, store, policy, now, limit: SWEEP_LIMIT });
      if (outputs > 0)
        logger.info({ tasks: outputs }, 'deleted the outputs of tasks past the outputs retention');
      if (this.failures > 0) logger.info({ failures: this.failures }, 'retention sweep resumed');
      this.failures = 0;
      if (swept.removed > 0)
        logger.info(
          { archived: swept.removed, scanned: swept.scanned },
          'archived finished tasks past their retention',
        );
    } catch (error) {
      if (isRedisUnavailable(error)) throw error; // the tracker's outage reporter says it
      this.failures++;
      const backoffMs = Math.min(this.deps.periodMs * 2 ** this.failures, MAX_BACKOFF_MS);
      this.resumeAt = now + backoffMs;
      if (this.failures === 1)
        logger.warn(
          { err: error, retryInMs: backoffMs },
          'retention sweep paused: the archive could not be written; nothing is removed until it can',
        );
    }
  }

  /** Whether this tracker holds the lease now (taken when free, renewed when its own). */
  private async holdLease(): Promise<boolean> {
    const { redis, keys, consumer, periodMs } = this.deps;
    const ttl = 3 * periodMs;
    if ((await redis.set(keys.retentionLease, consumer, 'PX', ttl, 'NX')) === 'OK') return true;
    if ((await redis.get(keys.retentionLease)) !== consumer) return false;
    await redis.pexpire(keys.retentionLease, ttl);
    return true;
  }
}
