/**
 * The scheduling settings enqueue writes for take to read (a tenant's weight and running-GPU quota,
 * the queue's fair-share half-life: fair-share.ts) are the same for nearly every task. This
 * remembers, per Redis connection, what an enqueue last wrote, so that the same value is sent again
 * at most every SETTINGS_REWRITE_MS rather than with every task: one write fewer for an enqueue,
 * which runs once per task. A changed value is written at once; an unchanged one again after the
 * interval, so settings lost with a Redis that restarted empty come back within it.
 */
import type { Redis } from 'ioredis';

export const SETTINGS_REWRITE_MS = 10_000;

const written = new WeakMap<Redis, Map<string, { value: string; at: number }>>();

/** What to send for setting `key` (a key and field): `value`, or '' when it was written lately. */
export function settingToSend(redis: Redis, key: string, value: string): string {
  if (value === '') return '';
  const last = written.get(redis)?.get(key);
  return last && last.value === value && performance.now() - last.at < SETTINGS_REWRITE_MS ? '' : value;
}

/** Records that `value` of setting `key` is in Redis now (after the script that wrote it). */
export function settingWritten(redis: Redis, key: string, value: string): void {
  if (value === '') return;
  let map = written.get(redis);
  if (!map) written.set(redis, (map = new Map()));
  map.set(key, { value, at: performance.now() });
}
