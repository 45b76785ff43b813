/**
 * Ends tasks that no live tracker of the queue can run: a task asking for more GPUs than the
 * largest live tracker has (or for a CPU slot when no tracker has one), or for GPUs of a model or
 * memory (core gpu-request.ts) that no live tracker has enough of, waits up to the configured time
 * for a tracker that can, counted from when it was enqueued or from when the queue was first seen
 * without such a tracker, whichever is later; then it ends `dead` with a reason naming the
 * shortfall. A task submitted with `waitForCapacity` is left waiting. Every tracker sweeps; the Lua
 * script makes the race harmless. A task requeued after its tracker died has a live log stream
 * from that attempt: it gets its grace to live once the task is dead (core task-log-expiry.ts).
 */
import type { Redis } from 'ioredis';
import {
  capacityShortfall,
  deadLetterQueued,
  DEFAULT_LOG_GRACE_MS,
  expireTaskLog,
  listLiveTrackers,
  parseGpuRequestSuffix,
  parseWaitSetName,
  type Logger,
  type QueueKeys,
} from '@gpufleet/core';

export interface SweepDeps {
  redis: Redis;
  keys: QueueKeys;
  unschedulableMs: number;
  /** How long a dead-lettered task's live log stream stays (default DEFAULT_LOG_GRACE_MS). */
  logGraceMs?: number;
  logger: Logger;
  now: () => number;
}

const BATCH = 100;

function shortfall(gpus: number, maxGpus: number, queue: string): string {
  if (gpus === 0)
    return `needs a CPU slot, but no live tracker of queue "${queue}" has CPU slots (set GPUFLEET_CPU_SLOTS on a tracker)`;
  return `needs ${gpus} GPUs, but the largest live tracker of queue "${queue}" has ${maxGpus}`;
}

/**
 * Marks size `size` unschedulable since now unless it is already (`impossible`), or clears the
 * mark; returns since when it is, null when it is not.
 */
async function markSince(redis: Redis, keys: QueueKeys, size: string, impossible: boolean, now: number) {
  const key = keys.unschedulableSince(size);
  if (!impossible) {
    await redis.del(key);
    return null;
  }
  await redis.set(key, String(now), 'NX');
  return Number((await redis.get(key)) ?? now);
}

/** Ends the task if it has waited out its grace and may not wait for capacity; 1 if it ended. */
async function endIfDue(
  deps: SweepDeps,
  task: { id: string; entryId: string; enqueuedAt: number },
  since: number,
  why: string,
  now: number,
): Promise<number> {
  const { redis, keys } = deps;
  if (now - Math.max(task.enqueuedAt, since) < deps.unschedulableMs) return 0;
  if ((await redis.hget(keys.task(task.id), 'waitForCapacity')) === '1') return 0;
  const reason = `${why} (waited ${Math.round((now - task.enqueuedAt) / 1000)} s)`;
  if (!(await deadLetterQueued(redis, keys, task.id, task.entryId, reason, now, 'UNSCHEDULABLE'))) return 0;
  deps.logger.warn({ taskId: task.id, reason }, 'task dead-lettered: no live tracker can run it');
  await expireTaskLog(redis, keys, task.id, deps.logGraceMs ?? DEFAULT_LOG_GRACE_MS).catch((error: unknown) =>
    deps.logger.warn({ err: error, taskId: task.id }, 'could not set the live log’s expiry'),
  );
  return 1;
}

/** Returns how many tasks were dead-lettered. */
export async function sweepUnschedulable(deps: SweepDeps): Promise<number> {
  const { redis, keys } = deps;
  const now = deps.now();
  const live = await listLiveTrackers(redis, keys, now);
  const maxGpus = Math.max(0, ...live.map((t) => t.gpus.length));
  const anyCpu = live.some((t) => t.cpuSlots > 0);
  let ended = 0;
  // By GPU count: every task of a count no live tracker can run, from its stream.
  for (const gpus of (await redis.smembers(keys.taskStreams)).map(Number)) {
    const since = await markSince(redis, keys, String(gpus), gpus === 0 ? !anyCpu : maxGpus < gpus, now);
    if (since === null) continue;
    for (const [entryId, fields] of await redis.xrange(keys.tasks(gpus), '-', '+', 'COUNT', BATCH)) {
      const task = { id: fields[1] ?? '', entryId, enqueuedAt: Number(entryId.split('-')[0]) };
      ended += await endIfDue(deps, task, since, shortfall(gpus, maxGpus, keys.queue), now);
    }
  }
  // By GPU request: the waiting tasks of a model or memory no live tracker has enough GPUs of.
  for (const name of await redis.zrange(keys.waitSets, 0, -1)) {
    const set = parseWaitSetName(name);
    if (!set?.request || set.gpus > maxGpus) continue; // the count's sweep has those
    const need = { gpus: set.gpus, request: parseGpuRequestSuffix(set.request) };
    const issues = capacityShortfall(need, live, keys.queue);
    const since = await markSince(redis, keys, `${set.gpus}${set.request}`, issues.length > 0, now);
    if (since === null) continue;
    const why = issues.map((i) => `${i.field} ${i.reason}`).join('; ');
    for (const member of await redis.zrange(keys.waitSet(name), 0, BATCH - 1)) {
      // A member is `<entry ms, 15 digits>-<seq>:<task id>` (lua/lib-wait.lua).
      const id = member.slice(member.lastIndexOf(':') + 1);
      const entryId = await redis.hget(keys.task(id), 'entry');
      const enqueuedAt = Number(member.slice(0, member.indexOf('-')));
      if (entryId) ended += await endIfDue(deps, { id, entryId, enqueuedAt }, since, why, now);
    }
  }
  return ended;
}
