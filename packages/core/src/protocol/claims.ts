/**
 * The claim calls of the task protocol (lua/take.lua, claim-read.lua, claim.lua, renew.lua): a
 * tracker takes a task, gets a fresh lease token with it and keeps the lease alive. Every change
 * after the claim is fenced by that token. All three ways of claiming answer in one reply shape
 * (`claimReply`), turned into one `ClaimOutcome` here.
 */
import type { Redis } from 'ioredis';
import { keyTemplate, tenantAccountKeys, type QueueKeys } from '../keys.js';
import { claimReply, stringsReply } from '../redis-replies.js';
import { runScript } from '../scripts.js';
import { parseTaskRecord, type TaskRecord } from '../task-record.js';
import { argvHead } from './argv-head.js';

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

/**
 * What a claim did with one entry: claimed its task; dead-lettered it (attempts used up); found
 * it `gone` (ended or superseded: the entry was removed) or `held` (another tracker's lease is live).
 */
export type ClaimOutcome =
  | { kind: 'claimed'; claim: Claim }
  | { kind: 'dead'; taskId: string; reason: string; entryId: string }
  | { kind: 'gone' | 'held'; taskId: string; entryId: string };

/** The outcome in a claim script's reply; null when the reply is not a claim's. */
function claimOutcome(reply: readonly string[], token: string): ClaimOutcome | null {
  const parsed = claimReply(reply);
  if (!parsed) return null;
  const { taskId, entryId } = parsed;
  if (parsed.kind === 'dead') return { kind: 'dead', taskId, reason: parsed.reason, entryId };
  if (parsed.kind !== 'claimed') return { kind: parsed.kind, taskId, entryId };
  const { attempt, stream, suspect, hash } = parsed;
  return {
    kind: 'claimed',
    claim: { taskId, attempt, stream, entryId, token, suspect, record: parseTaskRecord(hash) },
  };
}

export type TakeResult =
  /** `lastDelivered`: each stream's group's last-delivered id (for claimJustRead), when known. */
  | { kind: 'empty'; lastDelivered?: Record<string, string> }
  /** The first task in line does not fit yet; `lastEventId`: the events stream's last entry then. */
  | { kind: 'wait'; stream: string; lastEventId: string }
  /** Never `gone`: take goes on to the next entry. */
  | ClaimOutcome;

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
      [keys.events, keys.dead, ...tenantAccountKeys(keys), ...streams.map((s) => s.key)],
      argvHead(req.now),
      [
        req.consumer,
        keyTemplate(keys.task),
        keyTemplate(keys.lease),
        req.leaseMs,
        req.token,
        req.idle ? 1 : 0,
        streams.length - req.streams.filter((s) => !s.requeued).length,
        ...streams.map((s) => (s.fitsNow ? 1 : 0)),
      ],
    ),
  );
  const outcome = claimOutcome(reply, req.token);
  if (outcome) return outcome;
  const [kind, a = '', b = '0-0'] = reply;
  if (kind === 'wait') return { kind, stream: a, lastEventId: b };
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

/** Never `held`: claim-read leaves an entry another claim holds and looks at the next. */
export type ClaimJustReadResult = { kind: 'none' } | ClaimOutcome;

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
      [keys.events, keys.dead, ...tenantAccountKeys(keys), ...req.streams.map((s) => s.key)],
      argvHead(null),
      [
        req.consumer,
        keyTemplate(keys.task),
        keyTemplate(keys.lease),
        req.leaseMs,
        req.token,
        ...req.streams.map((s) => s.after),
      ],
    ),
  );
  return claimOutcome(reply, req.token) ?? { kind: 'none' };
}

export type ClaimResult = ClaimOutcome;

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
      [
        req.stream,
        keys.task(req.taskId),
        keys.lease(req.taskId),
        keys.events,
        keys.dead,
        ...tenantAccountKeys(keys),
      ],
      argvHead(req.now),
      [req.consumer, req.leaseMs, req.token, req.entryId, req.taskId],
    ),
  );
  const outcome = claimOutcome(reply, req.token);
  if (!outcome) throw new TypeError(`claim answered ${JSON.stringify(reply)}`);
  return outcome;
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
    argvHead(null),
    [claim.token, leaseMs, consumer, claim.entryId],
  );
  return reply === 2 ? 'cancel-requested' : reply === 1 ? 'renewed' : 'lost';
}
