/**
 * The status writes of the task protocol (lua/set-status.lua, complete.lua,
 * dead-letter-queued.lua, cancel.lua): a claimed task's status changes, fenced by its lease token,
 * and the ends of a task that never started.
 */
import type { Redis } from 'ioredis';
import { GpufleetError } from '../errors.js';
import { schedulingKeys, type QueueKeys } from '../keys.js';
import { stringsReply, wordReply } from '../redis-replies.js';
import { fieldArgs } from '../scripts.js';
import { runScript } from '../run-script.js';
import type { TaskFailureCode } from '../task-failures.js';
import { TASK_STATUSES, type TaskStatus } from '../task-status.js';
import { argvHead } from './argv-head.js';
import type { Claim } from './claims.js';

export type Fields = Record<string, string | number | boolean | null | undefined>;

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
    [keys.task(claim.taskId), keys.events, ...schedulingKeys(keys)],
    argvHead(now),
    [claim.token, status, ...fieldArgs(fields)],
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
    [
      keys.task(claim.taskId),
      keys.lease(claim.taskId),
      keys.events,
      keys.dead,
      claim.stream,
      ...schedulingKeys(keys),
    ],
    argvHead(now),
    [claim.token, status, reason, ...fieldArgs(fields)],
  );
  return reply === 1;
}

/**
 * Dead-letters a task still waiting on `entryId`; false when it moved on. Reads the task's stream
 * first, so lua/dead-letter-queued.lua gets it in KEYS (it checks it again).
 */
export async function deadLetterQueued(
  redis: Redis,
  keys: QueueKeys,
  taskId: string,
  entryId: string,
  reason: string,
  now: number,
  code: TaskFailureCode,
): Promise<boolean> {
  const stream = await redis.hget(keys.task(taskId), 'stream');
  if (!stream) return false;
  const reply = await runScript(
    redis,
    'dead-letter-queued',
    [keys.task(taskId), keys.lease(taskId), keys.events, keys.dead, stream, ...schedulingKeys(keys)],
    argvHead(now),
    [entryId, reason, code],
  );
  return reply === 1;
}

export type CancelResult =
  | { kind: 'cancelled' }
  | { kind: 'signalled'; tracker: string }
  | { kind: 'final'; status: TaskStatus }
  | { kind: 'missing' };

/** How often a cancel reads the task again when it changed under it (see lua/cancel.lua). */
const CANCEL_READS = 10;

/**
 * Cancels a task: a queued one ends at once; a running one's tracker is told to kill it. Reads the
 * task's stream and tracker first, so lua/cancel.lua gets their keys in KEYS; it answers `retry`
 * when they changed meanwhile, and this reads them again.
 */
export async function cancelTask(
  redis: Redis,
  keys: QueueKeys,
  taskId: string,
  now: number,
  reason = 'cancelled by request',
): Promise<CancelResult> {
  for (let read = 1; ; read++) {
    const [stream, tracker] = await redis.hmget(keys.task(taskId), 'stream', 'tracker');
    const reply = stringsReply(
      await runScript(
        redis,
        'cancel',
        [
          keys.task(taskId),
          keys.events,
          ...schedulingKeys(keys),
          ...(stream ? [stream] : []),
          ...(tracker ? [keys.trackerControl(tracker)] : []),
        ],
        argvHead(now),
        [reason, stream ?? '', tracker ?? ''],
      ),
    );
    const [kind, extra = ''] = reply;
    if (kind === 'cancelled') return { kind };
    if (kind === 'signalled') return { kind, tracker: extra };
    if (kind === 'final') return { kind, status: wordReply(extra, TASK_STATUSES) };
    if (kind !== 'retry') return { kind: 'missing' };
    if (read >= CANCEL_READS) {
      throw new GpufleetError(
        'CANCEL_CONTENDED',
        `task ${taskId} kept changing while it was being cancelled`,
      );
    }
  }
}
