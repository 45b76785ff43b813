/**
 * Changing a waiting task's priority (lua/set-priority.lua): it moves to its new place among the
 * waiting tasks at once. Only a task that waits can change: once it runs, its priority is history.
 */
import type { Redis } from 'ioredis';
import { ValidationError } from '../errors.js';
import { schedulingKeys, type QueueKeys } from '../keys.js';
import { stringsReply, wordReply } from '../redis-replies.js';
import { runScript } from '../run-script.js';
import { priorityIssue } from '../task-priority.js';
import { TASK_STATUSES, type TaskStatus } from '../task-status.js';
import { argvHead } from './argv-head.js';

export type PriorityChange =
  | { kind: 'changed'; from: number; to: number }
  | { kind: 'not-waiting'; status: TaskStatus }
  | { kind: 'missing' };

/** Sets the priority of task `taskId`; a priority out of range is a ValidationError naming `priority`. */
export async function setTaskPriority(
  redis: Redis,
  keys: QueueKeys,
  taskId: string,
  priority: number,
  now: number,
): Promise<PriorityChange> {
  const issue = priorityIssue(priority);
  if (issue) throw new ValidationError('invalid priority', [{ field: 'priority', reason: issue }]);
  const [kind, detail = ''] = stringsReply(
    await runScript(
      redis,
      'set-priority',
      [keys.task(taskId), keys.events, ...schedulingKeys(keys)],
      argvHead(now),
      [priority],
    ),
  );
  if (kind === 'changed') return { kind, from: Number(detail), to: priority };
  if (kind === 'not-waiting') return { kind, status: wordReply(detail, TASK_STATUSES) };
  return { kind: 'missing' };
}
