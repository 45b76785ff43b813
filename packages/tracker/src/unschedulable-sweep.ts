/**
 * Ends tasks that no live tracker of the queue can run: a task asking for more GPUs than the
 * largest live tracker has (or for a CPU slot when no tracker has one) waits up to the configured
 * time for a tracker that can, counted from when it was enqueued or from when the queue was first
 * seen without such a tracker, whichever is later; then it ends `dead` with a reason naming the
 * shortfall. Every tracker sweeps; the Lua script makes the race harmless. A task requeued after its
 * tracker died has a live log stream from that attempt: it gets its grace to live once the task
 * is dead (core task-log-expiry.ts).
 */
import type { Redis } from 'ioredis';
import {
  deadLetterQueued,
  DEFAULT_LOG_GRACE_MS,
  expireTaskLog,
  listLiveTrackers,
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

function shortfall(gpus: number, maxGpus: number, queue: string, waitedMs: number): string {
  const waited = `waited ${Math.round(waitedMs / 1000)} s`;
  if (gpus === 0)
    return `needs a CPU slot, but no live tracker of queue "${queue}" has CPU slots (${waited}; set GPUFLEET_CPU_SLOTS on a tracker)`;
  return `needs ${gpus} GPUs, but the largest live tracker of queue "${queue}" has ${maxGpus} (${waited})`;
}

/** Returns how many tasks were dead-lettered. */
export async function sweepUnschedulable(deps: SweepDeps): Promise<number> {
  const { redis, keys } = deps;
  const now = deps.now();
  const live = await listLiveTrackers(redis, keys, now);
  const maxGpus = Math.max(0, ...live.map((t) => t.gpus.length));
  const anyCpu = live.some((t) => t.cpuSlots > 0);
  let ended = 0;
  for (const gpus of (await redis.smembers(keys.taskStreams)).map(Number)) {
    const sinceKey = keys.unschedulableSince(gpus);
    if (gpus === 0 ? anyCpu : maxGpus >= gpus) {
      await redis.del(sinceKey);
      continue;
    }
    await redis.set(sinceKey, String(now), 'NX');
    const since = Number((await redis.get(sinceKey)) ?? now);
    for (const [entryId, fields] of await redis.xrange(keys.tasks(gpus), '-', '+', 'COUNT', BATCH)) {
      const enqueuedAt = Number(entryId.split('-')[0]);
      const waitedMs = now - Math.max(enqueuedAt, since);
      if (waitedMs < deps.unschedulableMs) continue;
      const taskId = fields[1] ?? '';
      const reason = shortfall(gpus, maxGpus, keys.queue, now - enqueuedAt);
      if (await deadLetterQueued(redis, keys, taskId, entryId, reason, now, 'UNSCHEDULABLE')) {
        ended++;
        deps.logger.warn({ taskId, gpus, reason }, 'task dead-lettered: no live tracker can run it');
        await expireTaskLog(redis, keys, taskId, deps.logGraceMs ?? DEFAULT_LOG_GRACE_MS).catch(
          (error: unknown) => deps.logger.warn({ err: error, taskId }, 'could not set the live log’s expiry'),
        );
      }
    }
  }
  return ended;
}
