/**
 * Queue positions: how many waiting tasks a tracker takes before this one. Waiting tasks live in
 * the queue's wait sets (one sorted set per size, priority, kind and tenant, in entry order;
 * lua/lib-wait.lua), and the scheduling order (`compareWaiting`) orders whole sets before
 * comparing entries: a set whose priority, kind or tenant's fair-share rank goes first counts whole
 * (ZCARD), one of the task's own class counts its members before the task (ZLEXCOUNT), the others
 * count nothing; nor does a set whose tenant is at its running-GPU quota now (take passes it over). So a position is exact as of its read, costs one command per wait set plus the
 * fair-share read, and needs no snapshot.
 *
 * A task being submitted uses `countWaiting`: the tasks of higher or equal priority, O(1) per
 * set, sent before its enqueue (the list of a queue's wait sets is cached for `maxAgeMs`; a set
 * made since is counted from the next read on). Fair share can only move a new task ahead of
 * tasks of equal priority, so this is the most it waits behind; `GET /v1/tasks/:id` answers exactly.
 */
import type { Redis } from 'ioredis';
import {
  compareWaiting,
  parseWaitSetName,
  readFairShare,
  shareOf,
  type QueueKeys,
  type TenantShare,
  type WaitingEntry,
} from '@gpufleet/core';

export interface QueuePositionsOptions {
  maxAgeMs?: number;
}

/** Where a waiting task is: the task hash's `waitSet`, `waitMember` (lua/lib-wait.lua addWaiting). */
export interface WaitPlace {
  waitSet: string;
  waitMember: string;
}

/** Where a waiting task stands: how many go before it, and why. */
export interface WaitStanding {
  /** Waiting tasks a tracker takes before it. */
  position: number;
  /** Of those, the tasks of a higher priority. */
  higherPriority: number;
  /** Of those, the tasks of equal priority and kind whose tenant's fair-share rank goes first. */
  fairShare: number;
}

/** Whether a task of `gpus` GPUs of a tenant with this share would pass its running-GPU quota. */
function overQuota(share: TenantShare, gpus: number): boolean {
  return share.maxRunningGpus !== null && share.runningGpus + gpus > share.maxRunningGpus;
}

/** A wait set's class as compareWaiting sees it (entries compared apart), with its size. */
function classOf(name: string, rankOf: (tenant: string) => number): (WaitingEntry & { gpus: number }) | null {
  const set = parseWaitSetName(name);
  if (!set) return null;
  return {
    kind: set.kind === 'r' ? 'requeued' : 'waiting',
    entryId: '0-0',
    priority: set.priority,
    tenant: set.tenant,
    fairShareRank: rankOf(set.tenant),
    gpus: set.gpus,
  };
}

export class QueuePositions {
  readonly #names = new Map<string, { at: number; value: string[] }>();
  readonly #maxAgeMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly now: () => number,
    options: QueuePositionsOptions = {},
  ) {
    this.#maxAgeMs = options.maxAgeMs ?? 500;
  }

  /**
   * Waiting tasks ahead of the one at `place`: those a tracker takes before it (take.lua's order),
   * with how many of them go first by priority and by fair share. Null when `place` is no wait set.
   * `sharesRead`: the queue's fair share, when the caller reads it anyway (else read here, in
   * parallel with the wait sets).
   */
  async standingOf(
    keys: QueueKeys,
    place: WaitPlace,
    sharesRead: Promise<Map<string, TenantShare>> = readFairShare(this.redis, keys, this.now()),
  ): Promise<WaitStanding | null> {
    const [names, shares] = await Promise.all([this.redis.zrange(keys.waitSets, 0, -1), sharesRead]);
    const rankOf = (tenant: string): number => shareOf(shares, tenant).rank;
    const target = classOf(place.waitSet, rankOf);
    if (!target) return null;
    const pipeline = this.redis.pipeline();
    const why: Array<'priority' | 'fairShare' | null> = [];
    for (const name of names) {
      const set = classOf(name, rankOf);
      // take passes over a set whose tenant is at its running-GPU quota: it is not ahead now.
      if (!set || (name !== place.waitSet && overQuota(shareOf(shares, set.tenant), set.gpus))) continue;
      const order = compareWaiting(set, target);
      if (order < 0) pipeline.zcard(keys.waitSet(name));
      else if (order === 0) pipeline.zlexcount(keys.waitSet(name), '-', `(${place.waitMember}`);
      else continue;
      why.push(
        set.priority > target.priority
          ? 'priority'
          : set.kind === target.kind && set.tenant !== target.tenant && order < 0
            ? 'fairShare'
            : null,
      );
    }
    const standing: WaitStanding = { position: 0, higherPriority: 0, fairShare: 0 };
    if (why.length === 0) return standing;
    for (const [i, [error, reply]] of ((await pipeline.exec()) ?? []).entries()) {
      if (error) throw error;
      const count = Number(reply);
      standing.position += count;
      if (why[i] === 'priority') standing.higherPriority += count;
      if (why[i] === 'fairShare') standing.fairShare += count;
    }
    return standing;
  }

  /**
   * Counts the tasks waiting now at a priority of `priority` or above, O(1) per wait set: the most
   * a task about to be enqueued waits behind. `issued` says the count's commands are already sent,
   * so nothing the caller sends after it (the enqueue) can be counted; when it is false (the
   * queue's wait sets are not known yet), wait for `count` before enqueueing.
   */
  countWaiting(keys: QueueKeys, priority: number): { count: Promise<number>; issued: boolean } {
    const cached = this.#names.get(keys.queue);
    // An empty list is never trusted: the queue's first wait set may have been made just now.
    const fresh = cached && cached.value.length > 0 && this.now() - cached.at < this.#maxAgeMs;
    const sum = (names: readonly string[]): Promise<number> => {
      const counted = names.filter((name) => (parseWaitSetName(name)?.priority ?? -1) >= priority);
      return Promise.all(counted.map((name) => this.redis.zcard(keys.waitSet(name)))).then((counts) =>
        counts.reduce((total, n) => total + n, 0),
      );
    };
    if (cached && fresh) return { count: sum(cached.value), issued: true };
    const reading = this.redis.zrange(keys.waitSets, 0, -1).then((names) => {
      this.#names.set(keys.queue, { at: this.now(), value: names });
      return names;
    });
    return { count: reading.then(sum), issued: false };
  }
}
