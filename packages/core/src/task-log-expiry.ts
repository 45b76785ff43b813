/**
 * A task's live log stream (`keys.log(id)`) goes shortly after the task ends rather than when the
 * retention sweep removes the task days later: once the task is final, its stdout.txt and
 * stderr.txt outputs hold all of its output, and the API answers from them. The stream is given a
 * TTL of GPUFLEET_LOG_GRACE_MS, a grace for the followers still reading it to its end.
 *
 * Who sets it, for each way a task that may have a log stream becomes final:
 * - an attempt's completion (succeeded, failed, timed_out, cancelled while running, its outputs not
 *   stored, a failure before its process started): its tracker, once the completion script
 *   succeeded (tracker run/attempt-writes.ts);
 * - dead-lettered when claimed, its attempts used up (its earlier attempts wrote to the stream):
 *   the tracker whose take did it (tracker loop-claims.ts);
 * - dead-lettered while waiting, no live tracker able to run it: the tracker whose sweep did it
 *   (tracker unschedulable-sweep.ts);
 * - cancelled while waiting for a retry or after its tracker died: the API that cancelled it
 *   (api routes/task-cancel.ts).
 * What is left, the retention sweep removes with the task (core retention-sweep.ts, forget.lua):
 * the tasks a take ended `cancelled` because a cancel came while their tracker was dead (take's
 * reply does not name them), and the streams of tasks whose tracker crashed or gave up on Redis
 * before it set the TTL. An attempt that lost its task and writes on after the stream expired
 * makes a new stream without a TTL; the sweep removes that one too.
 */
import type { Redis } from 'ioredis';
import type { EnvReader } from './env-reader.js';
import type { QueueKeys } from './keys.js';

/**
 * A minute: a follower reading the stream when the task ends reads its last entries within
 * milliseconds, and a client whose connection dropped then resumes within its 30 s retry budget
 * (api-client retry-budget.ts) from its Last-Event-ID in the stream itself; one that comes later
 * gets the output files. Short enough that a fleet of short tasks does not keep each one's log
 * (up to 5,000 entries of up to 64 KiB) in Redis memory for the days its record stays.
 */
export const DEFAULT_LOG_GRACE_MS = 60_000;

/** A day: a longer grace would keep logs nobody follows any more. */
const MAX_LOG_GRACE_MS = 86_400_000;

/**
 * GPUFLEET_LOG_GRACE_MS: how long a task's live log stream stays after the task ends (0: it goes at
 * once); a bad value is recorded on the reader naming the variable (the process refuses to start).
 */
export function readLogGraceMs(r: EnvReader): number {
  return r.int('GPUFLEET_LOG_GRACE_MS', DEFAULT_LOG_GRACE_MS, { min: 0, max: MAX_LOG_GRACE_MS });
}

/**
 * Gives the live log stream of task `taskId`, which has just ended, `graceMs` to live (PEXPIRE; 0
 * removes it at once). Call it only once the task is final: the TTL would otherwise cut off the log
 * of an attempt still running. True when the stream existed.
 */
export async function expireTaskLog(
  redis: Redis,
  keys: QueueKeys,
  taskId: string,
  graceMs: number,
): Promise<boolean> {
  return (await redis.pexpire(keys.log(taskId), graceMs)) === 1;
}
