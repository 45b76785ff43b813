/**
 * The claim calls of the task protocol (lua/take.lua, renew.lua): a
 * tracker takes a task, gets a fresh lease token with it and keeps the lease alive. Every change
 * after the claim is fenced by that token. A claim answers in one reply shape (`claimReply`),
 * turned into one `ClaimOutcome` here.
 */
import type { Redis } from 'ioredis';
import { gpuGroupsArg, type GpuGroup } from '../gpu-request.js';
import { keyTemplate, schedulingKeys, type QueueKeys } from '../keys.js';
import { claimReply, stringsReply } from '../redis-replies.js';
import { runScript } from '../run-script.js';
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
  /** Nothing this tracker could take waits; `lastEventId`: the events stream's last entry then. */
  | { kind: 'empty'; lastEventId: string }
  /**
   * The first task in line (`taskId`, of wait set `waitSet`) does not fit yet, or every
   * candidate's tenant is at its running-GPU quota (`waitSet` and `taskId` ''); `lastEventId` as
   * for `empty`.
   */
  | { kind: 'wait'; waitSet: string; lastEventId: string; taskId: string }
  /** Never `gone`: take goes on to the next entry. */
  | ClaimOutcome;

export interface TakeRequest {
  consumer: string;
  /**
   * The GPU counts this tracker can ever run (0: a CPU slot), each with whether it fits the free
   * slots now and its shadow time: when this tracker's running tasks, by their time limits, leave
   * that many free (ms; now when it fits; omitted: unknown, so this tracker backfills nothing while
   * it holds a reservation).
   */
  sizes: ReadonlyArray<{ gpus: number; fitsNow: boolean; shadowMs?: number | null }>;
  leaseMs: number;
  token: string;
  /** The caller's clock, or null to use Redis's (a take sent behind a blocking read). */
  now: number | null;
  /** The tracker runs nothing now: only then may it take a suspect task. */
  idle: boolean;
  /**
   * The tracker's GPUs by model and memory, for the tasks that ask for a GPU model or memory
   * (gpu-request.ts); omitted or empty: it has no GPUs to describe and takes none of them.
   */
  gpuGroups?: readonly GpuGroup[];
}

/**
 * Takes the first task in the scheduling order that this tracker may run now (lua/take.lua): the
 * candidate streams it may claim from are the requeued and task streams of its sizes.
 */
export async function takeTask(redis: Redis, keys: QueueKeys, req: TakeRequest): Promise<TakeResult> {
  const streams = [
    ...req.sizes.map((s) => keys.requeued(s.gpus)),
    ...req.sizes.map((s) => keys.tasks(s.gpus)),
  ];
  const reply = stringsReply(
    await runScript(
      redis,
      'take',
      [keys.events, keys.dead, ...schedulingKeys(keys), keys.reservation, ...streams],
      argvHead(req.now),
      [
        req.consumer,
        keyTemplate(keys.task),
        keyTemplate(keys.lease),
        req.leaseMs,
        req.token,
        req.idle ? 1 : 0,
        req.sizes
          .map((s) => `${s.gpus}:${s.fitsNow ? 1 : 0}:${s.shadowMs == null ? '' : Math.round(s.shadowMs)}`)
          .join(','),
        ...(req.gpuGroups && req.gpuGroups.length > 0 ? [gpuGroupsArg(req.gpuGroups)] : []),
      ],
    ),
  );
  const outcome = claimOutcome(reply, req.token);
  if (outcome) return outcome;
  const [kind, a = '', b = '0-0', c = ''] = reply;
  if (kind === 'wait') return { kind, waitSet: a, lastEventId: b, taskId: c };
  return { kind: 'empty', lastEventId: a || '0-0' };
}

export type ClaimResult = ClaimOutcome;

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
