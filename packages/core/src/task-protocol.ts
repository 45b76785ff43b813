/**
 * Typed calls of the task protocol's Lua scripts (see `lua/*.lua` for KEYS, ARGV and replies).
 * Every change after the claim is fenced by the attempt's lease token.
 */
import type { Redis } from 'ioredis';
import { EVENTS_MAX_LEN } from './enqueue.js';
import { requeuedStreamOf, TRACKER_GROUP, type QueueKeys } from './keys.js';
import { fieldArgs, runScript } from './scripts.js';
import { parseTaskRecord, type TaskRecord } from './task-record.js';
import type { TaskStatus } from './task-status.js';

export type Fields = Record<string, string | number | boolean | null | undefined>;

function base(keys: QueueKeys): string {
  return `${keys.prefix}:{${keys.queue}}`;
}

export interface Claim {
  taskId: string;
  attempt: number;
  stream: string;
  entryId: string;
  token: string;
  /** The task was running at two tracker deaths, or alone at one: it should run alone. */
  suspect: boolean;
  /** The task record as the claim left it (read in the same step). */
  record: TaskRecord | null;
}

function recordFrom(pairs: readonly string[]): TaskRecord | null {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) hash[pairs[i] as string] = pairs[i + 1] as string;
  return parseTaskRecord(hash);
}

/**
 * The claim in a `claimed` reply of take.lua or claim-read.lua:
 * {'claimed', taskId, attempt, streamKey, entryId, suspect, field1, value1, ...}.
 */
function claimFromReply(reply: readonly string[], token: string): Claim {
  const [, taskId = '', attempt = '', stream = '', entryId = '', suspect = ''] = reply;
  return {
    taskId,
    attempt: Number(attempt),
    stream,
    entryId,
    token,
    suspect: suspect === '1',
    record: recordFrom(reply.slice(6)),
  };
}

export type TakeResult =
  /** `lastDelivered`: each stream's group's last-delivered id (for claimJustRead), when known. */
  | { kind: 'empty'; lastDelivered?: Record<string, string> }
  | { kind: 'wait'; stream: string }
  | { kind: 'claimed'; claim: Claim }
  | { kind: 'dead'; taskId: string; reason: string }
  | { kind: 'held'; taskId: string };

export interface TakeRequest {
  consumer: string;
  /**
   * Candidate streams with whether a task of each fits the free slots now: the requeued streams
   * (`requeued: true`, taken first) and the task streams.
   */
  streams: ReadonlyArray<{ key: string; fitsNow: boolean; requeued?: boolean }>;
  leaseMs: number;
  token: string;
  now: number;
  /** The tracker runs nothing now: only then may it take a suspect task. */
  idle: boolean;
}

export async function takeTask(redis: Redis, keys: QueueKeys, req: TakeRequest): Promise<TakeResult> {
  const streams = [...req.streams.filter((s) => s.requeued), ...req.streams.filter((s) => !s.requeued)];
  const reply = (await runScript(
    redis,
    'take',
    streams.map((s) => s.key),
    [
      TRACKER_GROUP,
      req.consumer,
      base(keys),
      req.now,
      req.leaseMs,
      req.token,
      EVENTS_MAX_LEN,
      req.idle ? 1 : 0,
      streams.length - req.streams.filter((s) => !s.requeued).length,
      ...streams.map((s) => (s.fitsNow ? 1 : 0)),
    ],
  )) as string[];
  const [kind, a = '', b = ''] = reply;
  if (kind === 'claimed') return { kind, claim: claimFromReply(reply, req.token) };
  if (kind === 'wait') return { kind, stream: a };
  if (kind === 'dead') return { kind, taskId: a, reason: b };
  if (kind === 'held') return { kind, taskId: a };
  const lasts = reply.slice(1);
  if (lasts.length !== streams.length) return { kind: 'empty' };
  return {
    kind: 'empty',
    lastDelivered: Object.fromEntries(streams.map((s, i) => [s.key, lasts[i] ?? ''])),
  };
}

/** A claim that rides right behind a blocking read (see lua/claim-read.lua). */
export interface ClaimJustReadRequest {
  consumer: string;
  /** The streams the read blocks on, each with its group's last-delivered id at the last take. */
  streams: ReadonlyArray<{ key: string; after: string }>;
  leaseMs: number;
  token: string;
}

export type ClaimJustReadResult =
  | { kind: 'none' }
  | { kind: 'claimed'; claim: Claim }
  | { kind: 'gone'; taskId: string; entryId: string }
  | { kind: 'dead'; taskId: string; reason: string; entryId: string };

/**
 * Claims what a blocking XREADGROUP delivers to `consumer`. Send it on the blocking connection
 * right after the read, without waiting: Redis runs it as soon as the read returns, so the read
 * and the claim together cost one round trip. `none` when the read delivered nothing.
 */
export async function claimJustRead(
  redis: Redis,
  keys: QueueKeys,
  req: ClaimJustReadRequest,
): Promise<ClaimJustReadResult> {
  const reply = (await runScript(
    redis,
    'claim-read',
    req.streams.map((s) => s.key),
    [
      TRACKER_GROUP,
      req.consumer,
      base(keys),
      req.leaseMs,
      req.token,
      EVENTS_MAX_LEN,
      ...req.streams.map((s) => s.after),
    ],
  )) as string[];
  // {'dead', taskId, reason, streamKey, entryId} | {'gone', taskId, '', streamKey, entryId}
  const [kind, taskId = '', reason = '', , entryId = ''] = reply;
  if (kind === 'claimed') return { kind, claim: claimFromReply(reply, req.token) };
  if (kind === 'dead') return { kind, taskId, reason, entryId };
  if (kind === 'gone') return { kind, taskId, entryId };
  return { kind: 'none' };
}

export type ClaimResult =
  | { kind: 'claimed'; claim: Claim }
  | { kind: 'gone' | 'held'; taskId: string }
  | { kind: 'dead'; taskId: string; reason: string };

/** Claims an entry the consumer's blocking read delivered to it (see lua/claim.lua). */
export async function claimDelivered(
  redis: Redis,
  keys: QueueKeys,
  req: {
    consumer: string;
    stream: string;
    entryId: string;
    taskId: string;
    leaseMs: number;
    token: string;
    now: number;
  },
): Promise<ClaimResult> {
  const reply = (await runScript(
    redis,
    'claim',
    [req.stream],
    [
      TRACKER_GROUP,
      req.consumer,
      base(keys),
      req.now,
      req.leaseMs,
      req.token,
      EVENTS_MAX_LEN,
      req.entryId,
      req.taskId,
    ],
  )) as string[];
  const [kind, taskId = req.taskId, extra = '', suspect = ''] = reply;
  if (kind === 'claimed') {
    const claim = {
      taskId,
      attempt: Number(extra),
      stream: req.stream,
      entryId: req.entryId,
      token: req.token,
    };
    return { kind, claim: { ...claim, suspect: suspect === '1', record: recordFrom(reply.slice(4)) } };
  }
  if (kind === 'dead') return { kind, taskId, reason: extra };
  return { kind: kind === 'held' ? 'held' : 'gone', taskId };
}

export type OrphanResult = 'requeued' | 'returned' | 'gone' | 'held';

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
  const keyList = [req.stream, keys.task(req.taskId), requeuedStreamOf(req.stream)];
  if (req.holderDead) keyList.push(keys.trackerAlive(req.holder));
  return (await runScript(redis, 'orphan', keyList, [
    TRACKER_GROUP,
    req.holder,
    req.entryId,
    req.minIdleMs,
    base(keys),
    req.now,
    EVENTS_MAX_LEN,
    req.alone ? 1 : 0,
    req.reason,
  ])) as OrphanResult;
}

export type RenewResult = 'renewed' | 'cancel-requested' | 'lost';

/** Renews the lease; says whether a cancel was requested, or the attempt is lost. */
export async function renewLease(
  redis: Redis,
  keys: QueueKeys,
  claim: Claim,
  consumer: string,
  leaseMs: number,
): Promise<RenewResult> {
  const reply = await runScript(
    redis,
    'renew',
    [keys.task(claim.taskId), keys.lease(claim.taskId), claim.stream],
    [claim.token, leaseMs, TRACKER_GROUP, consumer, claim.entryId],
  );
  return reply === 2 ? 'cancel-requested' : reply === 1 ? 'renewed' : 'lost';
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
      ...(options.first ? [requeuedStreamOf(claim.stream)] : []),
    ],
    [
      claim.token,
      now,
      TRACKER_GROUP,
      EVENTS_MAX_LEN,
      base(keys),
      options.reason,
      options.attempt,
      options.delayMs ?? 0,
      options.countFailure ? 1 : 0,
      ...fieldArgs(options.fields ?? {}),
    ],
  );
  return reply === 1;
}

export type SettleResult = 'removed' | 'requeued' | 'left';

/**
 * Settles an entry a previous life of `consumer` left pending (see lua/settle.lua); `alone`: its
 * task was the only one that life was running.
 */
export async function settleEntry(
  redis: Redis,
  keys: QueueKeys,
  req: { stream: string; entryId: string; taskId: string; consumer: string; now: number; alone: boolean },
): Promise<SettleResult> {
  return (await runScript(
    redis,
    'settle',
    [keys.task(req.taskId), requeuedStreamOf(req.stream)],
    [
      base(keys),
      TRACKER_GROUP,
      req.stream,
      req.entryId,
      req.consumer,
      req.now,
      EVENTS_MAX_LEN,
      req.alone ? 1 : 0,
    ],
  )) as SettleResult;
}

/** Moves tasks whose retry backoff has passed into their streams; returns how many. */
export async function promoteDelayed(redis: Redis, keys: QueueKeys, now: number, max = 100): Promise<number> {
  return Number(await runScript(redis, 'promote-delayed', [keys.delayed], [base(keys), now, max]));
}

/** Sets a non-final status and fields; false when the attempt is lost. */
export async function setTaskStatus(
  redis: Redis,
  keys: QueueKeys,
  claim: Claim,
  status: TaskStatus,
  now: number,
  fields: Fields = {},
): Promise<boolean> {
  const reply = await runScript(
    redis,
    'set-status',
    [keys.task(claim.taskId), keys.lease(claim.taskId)],
    [claim.token, status, now, EVENTS_MAX_LEN, base(keys), ...fieldArgs(fields)],
  );
  return reply === 1;
}

/** Writes the final status; false when the attempt is lost (nothing written). */
export async function completeTask(
  redis: Redis,
  keys: QueueKeys,
  claim: Claim,
  status: TaskStatus,
  now: number,
  reason: string,
  fields: Fields = {},
): Promise<boolean> {
  const reply = await runScript(
    redis,
    'complete',
    [keys.task(claim.taskId), keys.lease(claim.taskId)],
    [claim.token, status, now, TRACKER_GROUP, EVENTS_MAX_LEN, base(keys), reason, ...fieldArgs(fields)],
  );
  return reply === 1;
}

/** Dead-letters a task still waiting on `entryId`; false when it moved on. */
export async function deadLetterQueued(
  redis: Redis,
  keys: QueueKeys,
  taskId: string,
  entryId: string,
  reason: string,
  now: number,
): Promise<boolean> {
  const reply = await runScript(
    redis,
    'dead-letter-queued',
    [keys.task(taskId)],
    [base(keys), TRACKER_GROUP, entryId, reason, now, EVENTS_MAX_LEN],
  );
  return reply === 1;
}

export type CancelResult =
  | { kind: 'cancelled' }
  | { kind: 'signalled'; tracker: string }
  | { kind: 'final'; status: TaskStatus }
  | { kind: 'missing' };

/** Cancels a task: a queued one ends at once; a running one's tracker is told to kill it. */
export async function cancelTask(
  redis: Redis,
  keys: QueueKeys,
  taskId: string,
  now: number,
  reason = 'cancelled by request',
): Promise<CancelResult> {
  const reply = (await runScript(
    redis,
    'cancel',
    [keys.task(taskId)],
    [base(keys), TRACKER_GROUP, now, EVENTS_MAX_LEN, reason],
  )) as string[];
  const [kind, extra = ''] = reply;
  if (kind === 'cancelled') return { kind };
  if (kind === 'signalled') return { kind, tracker: extra };
  if (kind === 'final') return { kind, status: extra as TaskStatus };
  return { kind: 'missing' };
}
