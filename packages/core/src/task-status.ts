/**
 * The task status machine:
 * queued → running → uploading → succeeded | failed | timed_out | cancelled | dead.
 * A running or uploading task whose lease lapsed may be claimed again (a new attempt).
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

export function isTaskStatus(value: string): value is TaskStatus {
  return (TASK_STATUSES as readonly string[]).includes(value);
}

export function isFinal(status: TaskStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

const NEXT: Record<TaskStatus, readonly TaskStatus[]> = {
  queued: ['running', 'cancelled', 'dead'],
  running: ['running', 'uploading', 'queued', 'failed', 'timed_out', 'cancelled', 'dead'],
  uploading: ['running', 'succeeded', 'failed', 'queued', 'cancelled', 'dead'],
  succeeded: [],
  failed: [],
  timed_out: [],
  cancelled: [],
  dead: [],
};

/** Whether `from → to` is a legal transition (the Lua scripts enforce the same table). */
export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return NEXT[from].includes(to);
}
