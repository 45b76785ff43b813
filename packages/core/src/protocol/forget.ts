/**
 * Removing finished tasks from Redis (lua/forget.lua), the last step of the retention sweep: each
 * task given is removed only if it is still final and ended when the sweep read it.
 */
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import { runScript } from '../scripts.js';
import { argvHead } from './argv-head.js';

/** Removes `tasks` (each with the `endedAt` the sweep read); returns how many went. */
export async function forgetTasks(
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
    [keys.index, ...taskKeys],
    argvHead(now),
    tasks.map((t) => t.endedAt),
  );
  return Number(reply);
}
