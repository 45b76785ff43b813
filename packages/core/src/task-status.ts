/**
 * The task status machine, defined once: `NEXT` below is the table both sides follow. The Lua
 * scripts get it as generated Lua (`taskStatusesLua`, injected where lua/lib-common.lua says
 * `-- @generated task-statuses`), and every status write in them goes through lib-common's
 * `writeStatus`, which refuses a transition this table does not allow.
 *
 * (no record) → queued → running → uploading → succeeded | failed | timed_out | cancelled | dead.
 * A running or uploading task whose lease lapsed may be claimed again (a new attempt), or goes back
 * to queued (its tracker died, handed it back, or it failed with retries left).
 */

export const TASK_STATUSES = [
  'queued',
  'running',
  'uploading',
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'dead',
] as const;

export type TaskStatus = (typeof TASK_STATUSES)[number];

export const FINAL_STATUSES: readonly TaskStatus[] = [
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'dead',
];

/** The status a task is created with (the only status a task without a record may get). */
export const INITIAL_STATUS: TaskStatus = 'queued';

export function isTaskStatus(value: string): value is TaskStatus {
  return (TASK_STATUSES as readonly string[]).includes(value);
}

export function isFinal(status: TaskStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/**
 * Every transition a script makes, and only those:
 * - queued → running (a claim), cancelled (a cancel, or a claim finding a cancel requested while an
 *   earlier attempt ran), dead (attempts used up at a claim, or no tracker can ever run it).
 * - running | uploading → running: a claim after the lease lapsed, and the attempt recording its
 *   process id (written once the pid file is, so it may land after `uploading`).
 * - running | uploading → uploading: outputs are stored (the write is retried through an outage,
 *   so it may find `uploading` already).
 * - running | uploading → queued: requeued (tracker died, hand-back, retry after a backoff).
 * - running | uploading → any final status: the attempt completes (from running when it ends
 *   before storing outputs), a claim dead-letters it or finds a cancel requested.
 */
const AFTER_START: readonly TaskStatus[] = ['running', 'uploading', 'queued', ...FINAL_STATUSES];

const NEXT: Record<TaskStatus, readonly TaskStatus[]> = {
  queued: ['running', 'cancelled', 'dead'],
  running: AFTER_START,
  uploading: AFTER_START,
  succeeded: [],
  failed: [],
  timed_out: [],
  cancelled: [],
  dead: [],
};

/**
 * Whether `from → to` is a legal transition; `from` null: the task has no record yet (only
 * `INITIAL_STATUS` is). lua/lib-common.lua's `canTransition` answers the same from the same table.
 */
export function canTransition(from: TaskStatus | null, to: TaskStatus): boolean {
  return from === null ? to === INITIAL_STATUS : NEXT[from].includes(to);
}

const luaSet = (statuses: readonly string[]): string =>
  `{ ${statuses.map((s) => `['${s}'] = true`).join(', ')} }`;

/**
 * The status machine as Lua, for lib-common.lua: `FINAL` (status → true), `INITIAL_STATUS` and
 * `TRANSITIONS` (from → { to → true }).
 */
export function taskStatusesLua(): string {
  const rows = TASK_STATUSES.map((from) => `  ['${from}'] = ${luaSet(NEXT[from])},`);
  return [
    `local FINAL = ${luaSet(FINAL_STATUSES)}`,
    `local INITIAL_STATUS = '${INITIAL_STATUS}'`,
    'local TRANSITIONS = {',
    ...rows,
    '}',
  ].join('\n');
}
