/**
 * Follows one task until it ends: its status transitions (from the queue's events stream) and,
 * when asked, its output (from its live log stream), then the final record. The order of reads
 * makes the end certain: the events cursor is taken before the record is read, so any transition
 * after that read comes as an event; the tracker writes all live log entries before it completes
 * the task, so a drain of the log stream after the final status has them all. A slow re-check of
 * the record covers a missed event too.
 *
 * When the feed finds entries lost after a cursor (stream-feed.ts): transitions trimmed from the
 * events stream before they were read make the follow resync from the task's record (re-read,
 * handed to `onResync`, events going on from the stream's end; those that come meanwhile wait for
 * it); output lost from the log stream makes it say so (`onLogResync`) and follow the log again
 * from the oldest entry the stream holds.
 */
import type { Redis } from 'ioredis';
import { isFinal, parseLogChunk, parseTaskEvent, type LogChunk, type TaskEvent } from '@gpufleet/core';
import type { FoundTask, TaskFinder } from '../tasks/task-finder.js';
import type { FeedEntry, FeedHub } from './stream-feed.js';

export interface FollowHandlers {
  /** The record as first read (before any event). */
  onStart?(found: FoundTask): void;
  onEvent?(event: TaskEvent): void;
  onLog?(chunk: LogChunk): void;
  /** Transitions were lost (trimmed before they were read): the record as re-read then. */
  onResync?(current: FoundTask): void;
  /** Output was lost (trimmed, or the stream is gone): the log follows again from its start. */
  onLogResync?(): void;
}

export interface FollowOptions {
  /** Follow the log stream from after this entry id ('0-0' for all of it). */
  logsFrom?: string;
  signal: AbortSignal;
  /** How often the record is re-read in case an event was missed. */
  recheckMs?: number;
  /** Give up (resolve with the record as it is) after this long. */
  timeoutMs?: number;
}

export interface FollowDeps {
  redis: Redis;
  feeds: FeedHub;
  finder: TaskFinder;
}

const LOG_PAGE = 500;

/** The id of the newest entry of a stream, or '0-0' when it is empty. */
export async function lastEntryId(redis: Redis, key: string): Promise<string> {
  const newest = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
  return newest[0]?.[0] ?? '0-0';
}

/** Reads log entries after `cursor` page by page, handing each chunk to `onLog`; the last id. */
export async function readLogSince(
  redis: Redis,
  key: string,
  cursor: string,
  onLog: (chunk: LogChunk) => void,
  until = '+',
): Promise<string> {
  for (;;) {
    const page = await redis.xrangeBuffer(key, `(${cursor}`, until, 'COUNT', LOG_PAGE);
    for (const [id, fields] of page) {
      cursor = id.toString();
      const chunk = parseLogChunk(cursor, fields);
      if (chunk) onLog(chunk);
    }
    if (page.length < LOG_PAGE) return cursor;
  }
}

/** Resolves with the task's record once it is final (or when the signal aborts or time runs out). */
export async function followTask(
  deps: FollowDeps,
  found: FoundTask,
  handlers: FollowHandlers,
  options: FollowOptions,
): Promise<FoundTask> {
  const { keys } = found;
  const id = found.record.id;
  const eventsCursor = await lastEntryId(deps.redis, keys.events);
  const current = (await deps.finder.reload(found)) ?? found;
  handlers.onStart?.(current);
  let logCursor = options.logsFrom;
  if (logCursor !== undefined && handlers.onLog) {
    logCursor = await readLogSince(deps.redis, keys.log(id), logCursor, handlers.onLog);
  }
  if (isFinal(current.record.status) || options.signal.aborted) return current;

  const feed = deps.feeds.feed(keys.queue);
  return new Promise<FoundTask>((resolve, reject) => {
    const unsubscribers: Array<() => void> = [];
    let ending = false;
    const timers: NodeJS.Timeout[] = [];
    const stop = (): void => {
      unsubscribers.forEach((unsubscribe) => unsubscribe());
      timers.forEach((timer) => clearTimeout(timer));
      options.signal.removeEventListener('abort', onAbort);
    };
    /** Reads the log to its end; a stream already gone (a grace of 0) may have held unread output. */
    const drainLog = async (onLog: (chunk: LogChunk) => void, cursor: string): Promise<void> => {
      if (cursor !== '0-0' && (await deps.redis.exists(keys.log(id))) === 0) return handlers.onLogResync?.();
      await readLogSince(deps.redis, keys.log(id), cursor, onLog);
    };
    const finish = (): void => {
      if (ending) return;
      ending = true;
      stop();
      const drain =
        logCursor !== undefined && handlers.onLog ? drainLog(handlers.onLog, logCursor) : Promise.resolve();
      drain.then(() => deps.finder.reload(current)).then((latest) => resolve(latest ?? current), reject);
    };
    const onAbort = (): void => {
      if (ending) return;
      ending = true;
      stop();
      resolve(current);
    };
    options.signal.addEventListener('abort', onAbort);

    /** Events that came while the record is re-read after a resync (null: none is under way). */
    let held: FeedEntry[] | null = null;
    const onEvents = (entries: FeedEntry[]): void => {
      if (held) return void held.push(...entries);
      for (const entry of entries) {
        const event = parseTaskEvent(entry.id, entry.fields);
        if (!event || event.taskId !== id || ending) continue;
        handlers.onEvent?.(event);
        if (isFinal(event.status)) finish();
      }
    };
    const resync = (): void => {
      if (held || ending) return;
      held = [];
      const release = (): void => {
        const waiting = held ?? [];
        held = null;
        onEvents(waiting);
      };
      deps.finder.reload(current).then(
        (latest) => {
          if (latest && !ending) handlers.onResync?.(latest);
          if (!latest || isFinal(latest.record.status)) finish();
          release();
        },
        release, // the re-check below reads the record again
      );
    };
    unsubscribers.push(feed.subscribe(keys.events, eventsCursor, onEvents, { onResync: resync }));
    if (logCursor !== undefined && handlers.onLog) {
      const { onLog, onLogResync } = handlers;
      const onLogs = (entries: FeedEntry[]): void => {
        if (ending) return;
        for (const entry of entries) {
          logCursor = entry.id;
          const chunk = parseLogChunk(entry.id, entry.fields);
          if (chunk) onLog(chunk);
        }
      };
      const logResync = (): void => {
        if (ending) return;
        logCursor = '0-0';
        onLogResync?.();
      };
      unsubscribers.push(
        feed.subscribe(keys.log(id), logCursor, onLogs, { onResync: logResync, resume: 'start' }),
      );
    }
    const recheck = (): void => {
      deps.finder.reload(current).then(
        (latest) => {
          if (ending) return;
          if (!latest || isFinal(latest.record.status)) finish();
          else timers.push(setTimeout(recheck, options.recheckMs ?? 5000));
        },
        () => !ending && timers.push(setTimeout(recheck, options.recheckMs ?? 5000)),
      );
    };
    timers.push(setTimeout(recheck, options.recheckMs ?? 5000));
    if (options.timeoutMs !== undefined) timers.push(setTimeout(onAbort, options.timeoutMs));
  });
}
