/**
 * Indexes the waiting tasks of a stream that are in no wait set (lua/index-waiting.lua): what a
 * version of gpufleet without wait sets left waiting, which take would otherwise never see. A
 * tracker runs it over its streams at start; it reads the stream in batches from the group's
 * last-delivered id (entries up to it were read by the old version's XREADGROUP), so its cost is
 * one XRANGE and one script per 100 live entries, and it changes nothing for a task already indexed.
 */
import type { Redis } from 'ioredis';
import { schedulingKeys, TRACKER_GROUP, type QueueKeys } from '../keys.js';
import { entriesReply, xinfoGroups } from '../redis-replies.js';
import { runScript } from '../run-script.js';
import { argvHead } from './argv-head.js';

const BATCH = 100;

/** Indexes the unindexed waiting tasks of `stream`; returns how many it put into wait sets. */
export async function indexWaiting(
  redis: Redis,
  keys: QueueKeys,
  stream: string,
  now: number,
): Promise<number> {
  const groups = await xinfoGroups(redis, stream).catch(() => []);
  let after = groups.find((g) => g.name === TRACKER_GROUP)?.lastDeliveredId ?? '0-0';
  let added = 0;
  for (;;) {
    const entries = entriesReply(await redis.xrange(stream, `(${after}`, '+', 'COUNT', BATCH));
    if (entries.length === 0) return added;
    const tasks = entries.flatMap(([entryId, fields]) => {
      const id = fields[fields.indexOf('id') + 1];
      return fields.includes('id') && id ? [{ entryId, id }] : [];
    });
    if (tasks.length > 0) {
      added += Number(
        await runScript(
          redis,
          'index-waiting',
          [stream, ...schedulingKeys(keys), ...tasks.map((t) => keys.task(t.id))],
          argvHead(now),
          [tasks.length, ...tasks.map((t) => t.entryId)],
        ),
      );
    }
    after = entries[entries.length - 1]?.[0] ?? after;
  }
}
