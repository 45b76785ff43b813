/**
 * A task status as a coloured badge, the same on every page (the task's header and timeline, the
 * task list, the dead letters): running and uploading in the accent, succeeded green, cancelled
 * amber, the failures red, queued plain, with the word written out so colour is never the only
 * signal. `data-status` names it for tests and styles. Also which statuses a task can still leave
 * (those it can be cancelled in).
 */
import { FINAL_STATUSES, type TaskStatus } from '@gpufleet/api-client';

const TONE: Record<TaskStatus, string> = {
  queued: '',
  running: 'run',
  uploading: 'run',
  succeeded: 'ok',
  cancelled: 'warn',
  failed: 'bad',
  timed_out: 'bad',
  dead: 'bad',
};

/** `timed_out` → `timed out`. */
export const statusWords = (status: TaskStatus): string => status.replace('_', ' ');

/** Whether a task in `status` has not ended (and can be cancelled). */
export const isLive = (status: TaskStatus): boolean => !FINAL_STATUSES.includes(status);

export function StatusBadge({ status, label }: { status: TaskStatus; label?: string }) {
  return (
    <span class={`badge status ${TONE[status]}`} data-status={status} aria-label={label}>
      {statusWords(status)}
    </span>
  );
}
