/**
 * The claim calls of the task protocol (lua/take.lua, claim-read.lua, claim.lua, renew.lua): a
 * tracker takes a task, gets a fresh lease token with it and keeps the lease alive. Every change
 * after the claim is fenced by that token.
 */
import type { Redis } from 'ioredis';
import { EVENTS_MAX_LEN } from '../enqueue.js';
import { keyTemplate, TRACKER_GROUP, type QueueKeys } from '../keys.js';
import { stringsReply } from '../redis-replies.js';
import { runScript } from '../scripts.js';
import { parseTaskRecord, type TaskRecord } from '../task-record.js';

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
  for (let i = 0; i + 1 < pairs.length; i += 2) hash[pairs[i] ?? ''] = pairs[i + 1] ?? '';
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
  const reply = stringsReply(
    await runScript(
      redis,
      'take',
      [keys.events, keys.dead, ...streams.map((s) => s.key)],
      [
        TRACKER_GROUP,
        req.consumer,
        keyTemplate(keys.task),
        keyTemplate(keys.lease),
        req.now,
        req.leaseMs,
        req.token,
        EVENTS_MAX_LEN,
        req.idle ? 1 : 0,
        streams.length - req.streams.filter((s) => !s.requeued).length,
        ...streams.map((s) => (s.fitsNow ? 1 : 0)),
      ],
    ),
  );
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
  const reply = stringsReply(
    await runScript(
      redis,
      'claim-read',
      [keys.events, keys.dead, ...req.streams.map((s) => s.key)],
      [
        TRACKER_GROUP,
        req.consumer,
        keyTemplate(keys.task),
        keyTemplate(keys.lease),
        req.leaseMs,
        req.token,
        EVENTS_MAX_LEN,
        ...req.streams.map((s) => s.after),
      ],
    ),
  );
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
  const reply = stringsReply(
    await runScript(
      redis,
      'claim',
      [req.stream, keys.task(req.taskId), keys.lease(req.taskId), keys.events, keys.dead],
      [TRACKER_GROUP, req.consumer, req.now, req.leaseMs, req.token, EVENTS_MAX_LEN, req.entryId, req.taskId],
    ),
  );
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
