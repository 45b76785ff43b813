/**
 * The calls that put a task back in line (lua/orphan.lua, release.lua, settle.lua,
 * promote-delayed.lua): the task of a dead tracker or a lapsed lease, a hand-back or a retry, what
 * a previous life of a tracker left pending, and retries whose backoff has passed.
 */
import type { Redis } from 'ioredis';
import { requeuedStreamOf, schedulingKeys, type QueueKeys } from '../keys.js';
import { wordReply } from '../redis-replies.js';
import { fieldArgs } from '../scripts.js';
import { runScript } from '../run-script.js';
import { argvHead } from './argv-head.js';
import type { Claim } from './claims.js';
import type { Fields } from './status-writes.js';

const ORPHAN_RESULTS = ['requeued', 'returned', 'gone', 'held'] as const;
export type OrphanResult = (typeof ORPHAN_RESULTS)[number];

/** An entry whose holder stopped running it (see lua/orphan.lua). */
export interface OrphanRequest {
  stream: string;
  entryId: string;
  taskId: string;
  /** The consumer the entry is pending for. */
  holder: string;
  /** Only if the entry has been idle this long (no renewal since). */
  minIdleMs: number;
  /** The holder was found dead by its liveness key (checked again in the same step). */
  holderDead: boolean;
  /** The task was the only one its dead holder held. */
  alone: boolean;
  reason: string;
  now: number;
}

/**
 * Requeues, before every waiting task, the task of an entry whose holder died or let its lease
 * lapse; nobody claims it here, so whichever tracker frees the slots first takes it.
 */
export async function requeueOrphan(
  redis: Redis,
  keys: QueueKeys,
  req: OrphanRequest,
): Promise<OrphanResult> {
  const keyList = [
    req.stream,
    keys.task(req.taskId),
    requeuedStreamOf(req.stream),
    keys.lease(req.taskId),
    keys.events,
    keys.lastEntry,
    ...schedulingKeys(keys),
  ];
  if (req.holderDead) keyList.push(keys.trackerAlive(req.holder));
  const reply = await runScript(redis, 'orphan', keyList, argvHead(req.now), [
    req.holder,
    req.entryId,
    req.minIdleMs,
    req.alone ? 1 : 0,
    req.reason,
  ]);
  return wordReply(reply, ORPHAN_RESULTS);
}

export interface ReleaseOptions {
  reason: string;
  /**
   * `count`: the attempt counts against maxAttempts; `free`: it does not (graceful hand-back,
   * retry); `undo`: it never started (the attempt number goes back).
   */
  attempt: 'count' | 'free' | 'undo';
  /** Queue it before every waiting task (a hand-back), not at the end of its stream. */
  first?: boolean;
  /** Queue again only after this long (retry backoff). */
  delayMs?: number;
  /** Count one more executer failure (for the retry budget). */
  countFailure?: boolean;
  fields?: Fields;
}

/** Hands a claimed task back to its queue; false when the attempt is lost. */
export async function releaseTask(
  redis: Redis,
  keys: QueueKeys,
  claim: Claim,
  now: number,
  options: ReleaseOptions,
): Promise<boolean> {
  const reply = await runScript(
    redis,
    'release',
    [
      keys.task(claim.taskId),
      keys.lease(claim.taskId),
      keys.events,
      keys.delayed,
      keys.lastEntry,
      ...schedulingKeys(keys),
      claim.stream,
      ...(options.first ? [requeuedStreamOf(claim.stream)] : []),
    ],
    argvHead(now),
    [
      claim.token,
      options.reason,
      options.attempt,
      options.delayMs ?? 0,
      options.countFailure ? 1 : 0,
      ...fieldArgs(options.fields ?? {}),
    ],
  );
  return reply === 1;
}

const SETTLE_RESULTS = ['removed', 'requeued', 'left'] as const;
export type SettleResult = (typeof SETTLE_RESULTS)[number];

/**
 * Settles an entry a previous life of `consumer` left pending (see lua/settle.lua); `alone`: its
 * task was the only one that life was running.
 */
export async function settleEntry(
  redis: Redis,
  keys: QueueKeys,
  req: { stream: string; entryId: string; taskId: string; consumer: string; now: number; alone: boolean },
): Promise<SettleResult> {
  const reply = await runScript(
    redis,
    'settle',
    [
      keys.task(req.taskId),
      requeuedStreamOf(req.stream),
      req.stream,
      keys.lease(req.taskId),
      keys.events,
      keys.lastEntry,
      ...schedulingKeys(keys),
    ],
    argvHead(req.now),
    [req.entryId, req.consumer, req.alone ? 1 : 0],
  );
  return wordReply(reply, SETTLE_RESULTS);
}

/**
 * Moves tasks whose retry backoff has passed into their streams; returns how many. Reads the due
 * ids and their streams first, so lua/promote-delayed.lua gets every key it touches (it checks
 * them again).
 */
export async function promoteDelayed(redis: Redis, keys: QueueKeys, now: number, max = 100): Promise<number> {
  const ids = await redis.zrangebyscore(keys.delayed, '-inf', now, 'LIMIT', 0, max);
  if (ids.length === 0) return 0;
  const read = await Promise.all(ids.map((id) => redis.hget(keys.task(id), 'stream')));
  const streams = [...new Set(read.filter((stream): stream is string => !!stream))];
  const head = [keys.delayed, keys.lastEntry, ...schedulingKeys(keys), ...ids.map((id) => keys.task(id))];
  const firstStream = head.length + 1; // the KEYS index (from 1) of streams[0]
  return Number(
    await runScript(redis, 'promote-delayed', [...head, ...streams], argvHead(now), [
      ids.length,
      ...ids,
      ...read.map((stream) => (stream ? firstStream + streams.indexOf(stream) : 0)),
    ]),
  );
}
