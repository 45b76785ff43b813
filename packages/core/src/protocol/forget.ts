/**
 * Removing finished tasks from Redis (lua/forget.lua), the last step of the retention sweep: each
 * task given is removed only if it is still final and ended when the sweep read it.
 */
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import { runScript } from '../run-script.js';
import { argvHead } from './argv-head.js';

/**
 * Tasks one forget.lua call removes at most: about 15 µs of Redis each (a hash, a lease, a log
 * stream, an index entry), so a call stays near 0.3 ms, far under the 5 ms that would stall the
 * take path even on a slow machine (docs/benchmarks.md, bench:retention).
 */
export const FORGET_CHUNK = 20;

/** Removes `tasks` (each with the `endedAt` the sweep read); returns how many went. */
export async function forgetTasks(
  redis: Redis,
  keys: QueueKeys,
  tasks: ReadonlyArray<{ id: string; endedAt: string }>,
  now: number,
): Promise<number> {
  let removed = 0;
  for (let i = 0; i < tasks.length; i += FORGET_CHUNK)
    removed += await forgetChunk(redis, keys, tasks.slice(i, i + FORGET_CHUNK), now);
  return removed;
}

async function forgetChunk(
  redis: Redis,
  keys: QueueKeys,
  tasks: ReadonlyArray<{ id: string; endedAt: string }>,
  now: number,
): Promise<number> {
  if (tasks.length === 0) return 0;
  const taskKeys = tasks.flatMap(({ id }) => [keys.task(id), keys.lease(id), keys.log(id)]);
  const reply = await runScript(
    redis,
    'forget',
    [keys.index, keys.tenantRecords, ...taskKeys],
    argvHead(now),
    tasks.map((t) => t.endedAt),
  );
  return Number(reply);
}
