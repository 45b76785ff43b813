/**
 * The status writes of the task protocol (lua/set-status.lua, complete.lua,
 * dead-letter-queued.lua, cancel.lua): a claimed task's status changes, fenced by its lease token,
 * and the ends of a task that never started.
 */
import type { Redis } from 'ioredis';
import { EVENTS_MAX_LEN } from '../enqueue.js';
import { keyTemplate, TRACKER_GROUP, type QueueKeys } from '../keys.js';
import { stringsReply, wordReply } from '../redis-replies.js';
import { fieldArgs, runScript } from '../scripts.js';
import { TASK_STATUSES, type TaskStatus } from '../task-status.js';
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
    [keys.task(claim.taskId), keys.events],
    [claim.token, status, now, EVENTS_MAX_LEN, ...fieldArgs(fields)],
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
    [keys.task(claim.taskId), keys.lease(claim.taskId), keys.events, keys.dead],
    [claim.token, status, now, TRACKER_GROUP, EVENTS_MAX_LEN, reason, ...fieldArgs(fields)],
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
    [keys.task(taskId), keys.lease(taskId), keys.events, keys.dead],
    [TRACKER_GROUP, entryId, reason, now, EVENTS_MAX_LEN],
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
  const reply = stringsReply(
    await runScript(
      redis,
      'cancel',
      [keys.task(taskId), keys.events],
      [TRACKER_GROUP, now, EVENTS_MAX_LEN, reason, keyTemplate(keys.trackerControl)],
    ),
  );
  const [kind, extra = ''] = reply;
  if (kind === 'cancelled') return { kind };
  if (kind === 'signalled') return { kind, tracker: extra };
  if (kind === 'final') return { kind, status: wordReply(extra, TASK_STATUSES) };
  return { kind: 'missing' };
}
