/**
 * A task's status as a coloured badge (running blue, succeeded green, failed red, cancelled amber),
 * with the word written out so colour is never the only signal; and which statuses a task can
 * still leave (those it can be cancelled in).
 */
import type { TaskStatus } from '@gpufleet/api-client';

const TONE: Record<TaskStatus, string> = {
  queued: '',
  running: 'run',
  uploading: 'run',
  succeeded: 'ok',
  failed: 'bad',
  timed_out: 'bad',
  cancelled: 'warn',
  dead: 'bad',
};

/** `timed_out` → `timed out`. */
export const statusLabel = (status: TaskStatus): string => status.replace('_', ' ');

/** Whether a task in `status` has not ended (and can be cancelled). */
export const isLive = (status: TaskStatus): boolean =>
  status === 'queued' || status === 'running' || status === 'uploading';

export function StatusBadge({ status }: { status: TaskStatus }) {
  return <span class={`badge status ${TONE[status]}`}>{statusLabel(status)}</span>;
}
