/**
 * What a tracker does at start when an earlier life under the same consumer name may have crashed:
 * kill the process groups it left running (recorded in pid files, checked by start time), then
 * settle every entry still pending for this consumer name: tasks it was running go back to the
 * queue at once, before every waiting task (their attempt counts; one that was the only task of
 * that life becomes a suspect and runs alone), entries of ended tasks are removed. When there was
 * something to recover, that is the `previous-life-recovered` tracker event.
 */
import type { Redis } from 'ioredis';
import { settleEntry, TRACKER_GROUP, xpendingRange, type Logger, type QueueKeys } from '@gpufleet/core';
import { killLeftovers } from './process/pid-files.js';
import { eventField, type EmitTrackerEvent } from './tracker-events.js';

export interface RecoverDeps {
  redis: Redis;
  keys: QueueKeys;
  consumer: string;
  pidDir: string;
  logger: Logger;
  now: () => number;
  /** Announces what was recovered, when there was something (`previous-life-recovered`). */
  emit: EmitTrackerEvent;
}

export async function recoverPreviousLife(
  deps: RecoverDeps,
): Promise<{ killed: number; requeued: number; removed: number }> {
  const killed = (await killLeftovers(deps.pidDir, deps.logger)).length;
  let requeued = 0;
  let removed = 0;
  const counts = (await deps.redis.smembers(deps.keys.taskStreams)).map(Number);
  const found: Array<{ stream: string; entryId: string }> = [];
  for (const stream of counts.flatMap((gpus) => [deps.keys.requeued(gpus), deps.keys.tasks(gpus)])) {
    try {
      const pending = await xpendingRange(deps.redis, stream, TRACKER_GROUP, {
        count: 1000,
        consumer: deps.consumer,
      });
      for (const { entryId } of pending) found.push({ stream, entryId });
    } catch (error) {
      if (String(error).includes('NOGROUP') || /no such key/i.test(String(error))) continue;
      throw error;
    }
  }
  for (const { stream, entryId } of found) {
    const [entry] = await deps.redis.xrange(stream, entryId, entryId);
    const taskId = entry?.[1][1];
    if (!taskId) {
      await deps.redis.xack(stream, TRACKER_GROUP, entryId);
      removed++;
      continue;
    }
    const result = await settleEntry(deps.redis, deps.keys, {
      stream,
      entryId,
      taskId,
      consumer: deps.consumer,
      now: deps.now(),
      alone: found.length === 1,
    });
    if (result === 'requeued') requeued++;
    if (result === 'removed') removed++;
  }
  const recovered = { killed, requeued, removed };
  if (killed + requeued + removed > 0) {
    deps.logger.warn(
      { ...recovered, ...eventField('previous-life-recovered') },
      'recovered what a previous life of this tracker left',
    );
    deps.emit('previous-life-recovered', recovered);
  }
  return recovered;
}
