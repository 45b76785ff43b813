/**
 * How the task tables write times: short in the cell (the time alone for today, the date and time
 * for another day), in full in the cell's title; and how long a task ran or has waited.
 */
import { dateTime, duration } from '../../format.js';

/** `13:04:11` today, `12-04 13:04` on another day; `–` for none. */
export function shortTime(iso: string | null | undefined, now: number): string {
  if (!iso) return '–';
  const full = dateTime(iso);
  return full.slice(0, 10) === dateTime(new Date(now).toISOString()).slice(0, 10)
    ? full.slice(11)
    : full.slice(5, 16);
}

/** How long the task ran (to now while it runs); null when it never started. */
export function runMs(
  task: { startedAt: string | null; endedAt: string | null },
  now: number,
): number | null {
  if (!task.startedAt) return null;
  const end = task.endedAt ? Date.parse(task.endedAt) : now;
  return Math.max(0, end - Date.parse(task.startedAt));
}

/** `4 min 12 s`, or `–` when it never started. */
export function runTime(task: { startedAt: string | null; endedAt: string | null }, now: number): string {
  const ms = runMs(task, now);
  return ms === null ? '–' : duration(ms);
}
