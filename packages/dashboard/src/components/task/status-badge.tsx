/**
 * A task status as a coloured badge (the same colours on the header, the timeline and elsewhere):
 * running and uploading in the accent, succeeded green, cancelled amber, the failures red, queued
 * plain. `data-status` names it for tests and styles.
 */
import type { TaskStatus } from '@gpufleet/api-client';

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

export function StatusBadge({ status, label }: { status: TaskStatus; label?: string }) {
  return (
    <span class={`badge status ${TONE[status]}`} data-status={status} aria-label={label}>
      {statusWords(status)}
    </span>
  );
}
