/**
 * The last hour of each queue, minute by minute, for the dashboard's charts
 * (GET /v1/queues/:queue/history): the tasks that ended (succeeded, and otherwise), the tasks that
 * started and how long they had waited (mean and 90th percentile), and the GPUs its running tasks
 * held (sampled every `sampleMs`: mean and highest over the minute) beside the GPUs of its live
 * trackers. Kept in the API's memory, fed by the events streams that the task metrics follow
 * (task-metrics-follower.ts), which at start also reads back the last hour of each queue's events
 * stream (as far as the stream keeps it: EVENTS_MAX_LEN entries), so a restarted API shows the hour
 * again; the GPU samples start with the process (`gpusSampledSince`). Every API process keeps its
 * own copy, the same one: they follow the same streams. Minutes older than an hour are dropped as
 * new ones come, so the memory is bounded (61 minutes per queue, at most WAITS_KEPT waits each).
 */
import { Type, type Static } from '@fastify/type-provider-typebox';
import type { Redis } from 'ioredis';
import {
  isLive,
  listTrackers,
  queueKeys,
  readTenantAccounts,
  type Logger,
  type TaskStatus,
} from '@gpufleet/core';
import type { QueueDirectory } from '../fleet/queue-directory.js';
import { Nullable } from '../schemas/common.js';

export const HISTORY_MINUTES = 60;
const MINUTE_MS = 60_000;
/** Waits kept per minute for the percentile (the first ones; their mean counts every wait). */
const WAITS_KEPT = 2000;

interface Minute {
  succeeded: number;
  failed: number;
  started: number;
  waitSumMs: number;
  waits: number[];
  gpuSum: number;
  gpuSamples: number;
  gpuMax: number;
  gpuTotal: number;
}

const Count = (description: string) => Type.Integer({ minimum: 0, description });

/** One minute of a queue as the route answers it (GET /v1/queues/:queue/history). */
export const MinuteSchema = Type.Object({
  at: Type.Integer({ description: 'the minute’s start, ms since the epoch' }),
  succeeded: Count('tasks that succeeded in the minute'),
  failed: Count('tasks that ended otherwise: failed, timed out, cancelled, dead'),
  started: Count('tasks that started their first attempt'),
  waitMeanMs: Nullable(
    Type.Integer({ description: 'how long those had waited, on average; null: none started' }),
  ),
  waitP90Ms: Nullable(Type.Integer({ description: '90th percentile of those waits' })),
  gpusBusyMean: Nullable(
    Type.Number({
      description: 'GPUs its running tasks held, mean of the minute’s samples; null: not sampled',
    }),
  ),
  gpusBusyMax: Nullable(Type.Integer({ description: 'the most GPUs they held at a sample' })),
  gpusTotal: Nullable(Type.Integer({ description: 'the GPUs of its live trackers at the last sample' })),
});
export type HistoryMinute = Static<typeof MinuteSchema>;

const emptyMinute = (): Minute => ({
  succeeded: 0,
  failed: 0,
  started: 0,
  waitSumMs: 0,
  waits: [],
  gpuSum: 0,
  gpuSamples: 0,
  gpuMax: 0,
  gpuTotal: 0,
});

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? null;
}

export interface QueueHistoryOptions {
  redis: Redis;
  prefix: string;
  queues: Pick<QueueDirectory, 'discovered'>;
  logger: Logger;
  now: () => number;
  /** How often the GPUs in use are sampled; 0: not sampled (default 10 s). */
  sampleMs?: number;
}

export class QueueHistory {
  readonly #queues = new Map<string, Map<number, Minute>>();
  #timer: NodeJS.Timeout | null = null;
  #sampling: Promise<void> | null = null;
  #failing = false;
  readonly gpusSampledSince: number;

  constructor(private readonly options: QueueHistoryOptions) {
    this.gpusSampledSince = options.now();
  }

  /** Samples the GPUs in use now and every `sampleMs` until `stop`. */
  start(): void {
    const every = this.options.sampleMs ?? 10_000;
    if (every <= 0 || this.#timer) return;
    const sample = (): void => {
      this.#sampling ??= this.#sample().finally(() => (this.#sampling = null));
    };
    this.#timer = setInterval(sample, every);
    this.#timer.unref();
    sample();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#sampling;
  }

  /** A task of `queue` started for the first time at `at`, having waited `waitMs`. */
  started(queue: string, at: number, waitMs: number): void {
    const minute = this.#minute(queue, at);
    if (!minute) return;
    minute.started++;
    minute.waitSumMs += waitMs;
    if (minute.waits.length < WAITS_KEPT) minute.waits.push(waitMs);
  }

  /** A task of `queue` reached final status `status` at `at`. */
  ended(queue: string, at: number, status: TaskStatus): void {
    const minute = this.#minute(queue, at);
    if (!minute) return;
    if (status === 'succeeded') minute.succeeded++;
    else minute.failed++;
  }

  /** A sample of the GPUs `queue`'s running tasks hold (`busy`) and its live trackers have (`total`). */
  sampled(queue: string, at: number, busy: number, total: number): void {
    const minute = this.#minute(queue, at);
    if (!minute) return;
    minute.gpuSum += busy;
    minute.gpuSamples++;
    minute.gpuMax = Math.max(minute.gpuMax, busy);
    minute.gpuTotal = total;
  }

  /** The last HISTORY_MINUTES minutes of `queue`, oldest first, the current one (partial) last. */
  view(queue: string): HistoryMinute[] {
    const current = Math.floor(this.options.now() / MINUTE_MS) * MINUTE_MS;
    const minutes = this.#queues.get(queue);
    return Array.from({ length: HISTORY_MINUTES }, (_, i) => {
      const at = current - (HISTORY_MINUTES - 1 - i) * MINUTE_MS;
      const m = minutes?.get(at) ?? emptyMinute();
      const sampled = m.gpuSamples > 0;
      return {
        at,
        succeeded: m.succeeded,
        failed: m.failed,
        started: m.started,
        waitMeanMs: m.started > 0 ? Math.round(m.waitSumMs / m.started) : null,
        waitP90Ms: percentile(m.waits, 90),
        gpusBusyMean: sampled ? Math.round((m.gpuSum / m.gpuSamples) * 100) / 100 : null,
        gpusBusyMax: sampled ? m.gpuMax : null,
        gpusTotal: sampled ? m.gpuTotal : null,
      };
    });
  }

  /** The minute of `at` for `queue` (made when new), or null when it is older than the hour kept. */
  #minute(queue: string, at: number): Minute | null {
    const now = this.options.now();
    const start = Math.floor(at / MINUTE_MS) * MINUTE_MS;
    const oldest = Math.floor(now / MINUTE_MS) * MINUTE_MS - HISTORY_MINUTES * MINUTE_MS;
    if (start <= oldest) return null;
    let minutes = this.#queues.get(queue);
    if (!minutes) this.#queues.set(queue, (minutes = new Map()));
    let minute = minutes.get(start);
    if (!minute) {
      minutes.set(start, (minute = emptyMinute()));
      for (const key of minutes.keys()) if (key <= oldest) minutes.delete(key);
    }
    return minute;
  }

  async #sample(): Promise<void> {
    const { redis, prefix, logger } = this.options;
    try {
      const queues = await this.options.queues.discovered();
      const at = this.options.now();
      await Promise.all(
        queues.map(async (queue) => {
          const keys = queueKeys(prefix, queue);
          const [accounts, trackers] = await Promise.all([
            readTenantAccounts(redis, keys),
            listTrackers(redis, keys),
          ]);
          const busy = Object.values(accounts).reduce((sum, a) => sum + a.runningGpus, 0);
          const total = trackers.filter((t) => isLive(t, at)).reduce((sum, t) => sum + t.gpus.length, 0);
          this.sampled(queue, at, busy, total);
        }),
      );
      if (this.#failing) logger.info('queue history: GPU samples resumed');
      this.#failing = false;
    } catch (error) {
      if (!this.#failing)
        logger.warn({ err: error }, 'queue history: could not sample the GPUs in use; retrying');
      this.#failing = true;
    }
  }
}
