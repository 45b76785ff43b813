/**
 * Feeds the task metrics from the queues' events streams: each transition counts once, a first
 * start observes the wait (creation → start), a final status observes the run time (start → end).
 * Timestamps come from the task records, read in one pipeline per batch of events. Queues are
 * looked for again every `rescanMs`, so a new queue is followed without a restart. Transitions
 * trimmed from an events stream before the follower read them (the API was cut off from Redis
 * for longer than the stream keeps them) cannot be counted any more: one warning says so for each
 * such gap, and the count goes on from the stream's end. The same transitions feed the queues'
 * last hour (queue-history.ts); for it, a queue's events of the hour before the follower began are
 * read back once (the metrics count from the process's start, as Prometheus counters do).
 */
import type { Redis } from 'ioredis';
import { isFinal, parseTaskEvent, queueKeys, valuesReply, type Logger, type TaskEvent } from '@gpufleet/core';
import type { FeedEntry, FeedGap, FeedHub } from '../follow/stream-feed.js';
import { lastEntryId } from '../follow/task-follow.js';
import type { QueueDirectory } from '../fleet/queue-directory.js';
import type { ApiMetrics } from './api-metrics.js';
import type { QueueHistory } from './queue-history.js';

export interface TaskMetricsDeps {
  redis: Redis;
  feeds: FeedHub;
  queues: QueueDirectory;
  metrics: ApiMetrics;
  logger: Logger;
  prefix: string;
  rescanMs?: number;
  /** The queues' last hour, fed with the same transitions. */
  history?: QueueHistory;
  now?: () => number;
}

/** How far back a queue's events are read at start for its history. */
const BACKFILL_MS = 60 * 60_000;
/** Events read back per XRANGE call. */
const BACKFILL_PAGE = 2000;

/** Events waiting to be measured beyond this are counted but not timed (the API is overloaded). */
const MAX_BACKLOG = 10_000;

export class TaskMetricsFollower {
  readonly #followed = new Map<string, () => void>();
  #timer: NodeJS.Timeout | null = null;
  #backlog: Array<{ queue: string; event: TaskEvent; live: boolean }> = [];
  #working: Promise<void> | null = null;
  #stopped = false;

  constructor(private readonly deps: TaskMetricsDeps) {}

  /** Follows the queues known now (resolves once subscribed), then looks for new ones every `rescanMs`. */
  async start(): Promise<void> {
    const scan = (): Promise<void> =>
      this.#followQueues().catch((error: unknown) =>
        this.deps.logger.warn({ err: error }, 'task metrics: could not list queues'),
      );
    this.#timer = setInterval(() => void scan(), this.deps.rescanMs ?? 10_000);
    this.#timer.unref();
    await scan();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    for (const unsubscribe of this.#followed.values()) unsubscribe();
    this.#followed.clear();
    await this.#working;
  }

  async #followQueues(): Promise<void> {
    for (const queue of await this.deps.queues.discovered()) {
      if (this.#followed.has(queue) || this.#stopped) continue;
      const keys = queueKeys(this.deps.prefix, queue);
      const cursor = await lastEntryId(this.deps.redis, keys.events);
      if (this.#followed.has(queue) || this.#stopped) continue;
      const observe = (entries: FeedEntry[]): void => {
        for (const entry of entries) {
          const event = parseTaskEvent(entry.id, entry.fields);
          if (event) this.#observe(queue, event);
        }
      };
      const onResync = (gap: FeedGap): void =>
        this.deps.logger.warn(
          { queue, after: gap.cursor, resumedAfter: gap.resumeAfter },
          'task metrics: transitions were trimmed from the events stream before they were read; they are not counted',
        );
      const unsubscribe = this.deps.feeds.feed(queue).subscribe(keys.events, cursor, observe, { onResync });
      this.#followed.set(queue, unsubscribe);
      if (this.deps.history) void this.#backfill(queue, keys.events, cursor);
    }
  }

  /** Feeds the history with `queue`'s events of the last hour, up to `cursor` (where following began). */
  async #backfill(queue: string, events: string, cursor: string): Promise<void> {
    if (cursor === '0-0' || cursor === '0') return;
    let from = `${(this.deps.now ?? Date.now)() - BACKFILL_MS}-0`;
    try {
      while (!this.#stopped) {
        const page = await this.deps.redis.xrange(events, from, cursor, 'COUNT', BACKFILL_PAGE);
        for (const [id, fields] of page) {
          const event = parseTaskEvent(id, fields);
          if (event) this.#observe(queue, event, false);
        }
        const last = page[page.length - 1]?.[0];
        if (page.length < BACKFILL_PAGE || last === undefined || last === cursor) return;
        from = `(${last}`;
        await this.#working; // the waits of this page are read before the next page is
      }
    } catch (error) {
      this.deps.logger.warn(
        { err: error, queue },
        'queue history: could not read back the last hour of events',
      );
    }
  }

  /** One transition; `live`: as it happened (metrics and history), else read back (history only). */
  #observe(queue: string, event: TaskEvent, live = true): void {
    if (event.service) return; // a service's change of state, not a transition
    if (live) this.deps.metrics.tasks.inc({ queue, status: event.status });
    if (isFinal(event.status)) this.deps.history?.ended(queue, event.at, event.status);
    const timed = (event.status === 'running' && event.attempt === 1) || (live && isFinal(event.status));
    if (!timed || this.#backlog.length >= MAX_BACKLOG) return;
    this.#backlog.push({ queue, event, live });
    this.#working ??= this.#drain().finally(() => (this.#working = null));
  }

  async #drain(): Promise<void> {
    while (this.#backlog.length > 0 && !this.#stopped) {
      const batch = this.#backlog.splice(0, 500);
      const pipeline = this.deps.redis.pipeline();
      for (const { queue, event } of batch) {
        pipeline.hmget(queueKeys(this.deps.prefix, queue).task(event.taskId), 'createdAt', 'startedAt');
      }
      const replies = await pipeline.exec().catch((error: unknown) => {
        this.deps.logger.warn({ err: error }, 'task metrics: could not read task times');
        return null;
      });
      if (!replies) continue;
      batch.forEach(({ queue, event, live }, i) => {
        const [error, times] = replies[i] ?? [null, null];
        if (error || !Array.isArray(times)) return;
        const [createdAt, startedAt] = valuesReply(times).map((v) => (v ? Number(v) : null));
        if (event.status === 'running' && createdAt !== null && createdAt !== undefined) {
          const waitMs = Math.max(0, event.at - createdAt);
          if (live) this.deps.metrics.waitSeconds.observe({ queue }, waitMs / 1000);
          this.deps.history?.started(queue, event.at, waitMs);
        } else if (isFinal(event.status) && startedAt !== null && startedAt !== undefined) {
          this.deps.metrics.runSeconds.observe(
            { queue, status: event.status },
            Math.max(0, event.at - startedAt) / 1000,
          );
        }
      });
    }
  }
}
