/** Text for people: tables, task outcomes, durations and times. */
import type { TaskStatus, TaskSummary } from '../generated/api-types.js';

export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `succeeded`, `failed (exit 3)`, `dead: no tracker can run it`... */
export function outcome(task: { status: TaskStatus; exitCode: number | null; error: string | null }): string {
  if (task.status === 'succeeded') return 'succeeded';
  const exit = task.exitCode !== null && task.exitCode !== 0 ? ` (exit ${task.exitCode})` : '';
  return `${task.status}${exit}${task.error ? `: ${task.error}` : ''}`;
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

/** `2024-05-01 12:03:04` in local time (from an ISO time or ms since the epoch), or `-`. */
export function formatTime(time: string | number | null): string {
  if (time === null) return '-';
  const d = new Date(time);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Tags as `k=v k2=v2`, keys in order. */
export function formatTags(tags: Readonly<Record<string, string>>): string {
  return Object.keys(tags)
    .sort()
    .map((k) => `${k}=${tags[k]}`)
    .join(' ');
}

/** At most `max` characters, the cut marked with `…`. */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Marks a preemptible task's priority in `ls` (a column of its own would be mostly empty). */
export const PREEMPTIBLE_MARK = '*';
export const PREEMPTIBLE_NOTE = `${PREEMPTIBLE_MARK} preemptible: a task of higher priority may stop and requeue it`;

export function taskRow(t: TaskSummary): string[] {
  const end = t.exitCode !== null ? String(t.exitCode) : '-';
  const name = t.name === null ? '-' : clip(t.name, 32);
  const tags = clip(formatTags(t.tags), 40) || '-';
  return [
    t.id,
    name,
    t.status,
    t.executer,
    t.queue,
    `${t.priority}${t.preemptible ? PREEMPTIBLE_MARK : ''}`,
    formatTime(t.createdAt),
    end,
    tags,
    t.error ?? '',
  ];
}

export const TASK_HEADERS = [
  'ID',
  'NAME',
  'STATUS',
  'EXECUTER',
  'QUEUE',
  'PRIORITY',
  'CREATED',
  'EXIT',
  'TAGS',
  'ERROR',
];

/** Counts of statuses: `2 running, 1 queued`. */
export function statusCounts(statuses: Iterable<TaskStatus>): string {
  const counts = new Map<string, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
}
