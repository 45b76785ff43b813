/**
 * Task priority: an integer from 0 to 1000, higher first; 500 unless the task or its queue says
 * otherwise. Why this range: it is wide enough for every scheme a team uses (a few classes such as
 * 100/500/900, or fine steps in between) and leaves room above and below the default, it reads
 * like a percentage-with-a-decimal that people do not confuse with a nice value (SLURM's, where
 * lower runs first), and it is small enough to be part of a wait set's name
 * (keys.ts `waitSetName`). The order of waiting tasks is scheduling-order.ts.
 */
import { Type } from '@sinclair/typebox';
import { ISSUE_REASONS } from './task-labels.js';

export const PRIORITY_MIN = 0;
export const PRIORITY_MAX = 1000;
/**
 * The priority of a task whose spec gives none and whose queue sets no default. `lua/lib-common.lua`
 * holds the same number for records without the field (test/scheduling-policy.test.ts keeps them equal).
 */
export const DEFAULT_PRIORITY = 500;

const RANGE = `must be an integer from ${PRIORITY_MIN} to ${PRIORITY_MAX}`;

export const TaskPrioritySchema = Type.Integer({
  minimum: PRIORITY_MIN,
  maximum: PRIORITY_MAX,
  description: `${PRIORITY_MIN}-${PRIORITY_MAX}, higher starts first; default ${DEFAULT_PRIORITY} (or the queue's)`,
  [ISSUE_REASONS]: { Integer: RANGE, IntegerMinimum: RANGE, IntegerMaximum: RANGE, Number: RANGE },
});

/** Why `value` is not a priority, or null when it is one. */
export function priorityIssue(value: unknown): string | null {
  return typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= PRIORITY_MIN &&
    value <= PRIORITY_MAX
    ? null
    : RANGE;
}
