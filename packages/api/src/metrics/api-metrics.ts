/**
 * The API's Prometheus metrics, in a registry of its own (so several apps in one process, as in
 * tests, do not collide):
 * - `gpufleet_api_request_duration_seconds{method,route,status_code}`: API latency;
 * - `gpufleet_tasks_total{queue,status}`: tasks that entered each status (from the events stream,
 *   since this API process started; every API process counts the whole fleet, so aggregate with max);
 * - `gpufleet_task_wait_seconds{queue}`: creation to first start; `gpufleet_task_run_seconds{queue,status}`:
 *   start of the last attempt to its end;
 * - `gpufleet_queue_depth`, `gpufleet_queue_running`, `gpufleet_queue_dead`,
 *   `gpufleet_queue_oldest_wait_seconds` `{queue}`: read from Redis at scrape time;
 * - `gpufleet_tenant_waiting_tasks`, `gpufleet_tenant_running_tasks`, `gpufleet_tenant_running_gpus`
 *   `{queue,tenant}`: the tenant accounts (core tenant-accounts.ts), read at scrape time;
 * - `gpufleet_queue_task_records`, `gpufleet_queue_archived_tasks`, `gpufleet_queue_archived_per_minute`,
 *   `gpufleet_queue_bytes_per_task`, `gpufleet_queue_redis_bytes` `{queue}`: Redis memory per queue
 *   as the fleet sees it (core retention/queue-memory.ts; the per-minute rate over this API's
 *   scrapes of the last five minutes, archive-rate.ts);
 * - `gpufleet_gpu_*` `{queue,tracker,gpu,uuid,model}`: each live tracker's GPUs, their latest
 *   usage sample and total memory, from the tracker registry at scrape time (gpu-metrics.ts);
 * - `gpufleet_api_redis_up`: 1 when the last scrape could read Redis (the queue gauges are left out when not).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { QueueMemory, QueueStats, TenantAccount, TenantAccounts, TrackerInfo } from '@gpufleet/core';
import { ArchiveRate } from './archive-rate.js';
import { registerGpuGauges } from './gpu-metrics.js';

/** What a scrape reads of each queue (`trackers`: the live ones). */
export type QueueScrape = QueueStats & {
  tenants: TenantAccounts;
  memory: QueueMemory;
  trackers: TrackerInfo[];
};

const TASK_BUCKETS = [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 48 * 3600];
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

export class ApiMetrics {
  readonly registry = new Registry();
  readonly requestDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly tasks: Counter<'queue' | 'status'>;
  readonly waitSeconds: Histogram<'queue'>;
  readonly runSeconds: Histogram<'queue' | 'status'>;
  readonly redisUp: Gauge;
  #stats: { at: number; value: Promise<{ stats: QueueScrape[]; ok: boolean }> } | null = null;

  constructor(
    private readonly readQueueStats: () => Promise<QueueScrape[]>,
    private readonly now: () => number = Date.now,
  ) {
    const registers = [this.registry];
    this.requestDuration = new Histogram({
      name: 'gpufleet_api_request_duration_seconds',
      help: 'API request latency, by route template',
      labelNames: ['method', 'route', 'status_code'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.tasks = new Counter({
      name: 'gpufleet_tasks_total',
      help: 'Tasks that entered each status (status transitions seen since this API process started)',
      labelNames: ['queue', 'status'],
      registers,
    });
    this.waitSeconds = new Histogram({
      name: 'gpufleet_task_wait_seconds',
      help: 'Time from a task’s creation to its first start',
      labelNames: ['queue'],
      buckets: TASK_BUCKETS,
      registers,
    });
    this.runSeconds = new Histogram({
      name: 'gpufleet_task_run_seconds',
      help: 'Time from the start of a task’s last attempt to its final status',
      labelNames: ['queue', 'status'],
      buckets: TASK_BUCKETS,
      registers,
    });
    const queueGauge = (
      name: string,
      help: string,
      value: (s: QueueScrape, now: number) => number | null,
    ): void => {
      const stats = async (): Promise<QueueScrape[]> => (await this.#queueStats()).stats;
      const now = this.now;
      new Gauge({
        name,
        help,
        labelNames: ['queue'],
        registers,
        async collect() {
          this.reset();
          const at = now();
          for (const s of await stats()) {
            const v = value(s, at);
            if (v !== null) this.set({ queue: s.queue }, v);
          }
        },
      });
    };
    queueGauge('gpufleet_queue_depth', 'Tasks waiting for a tracker', (s) => s.waiting);
    queueGauge('gpufleet_queue_running', 'Tasks taken by a tracker and not yet ended', (s) => s.running);
    queueGauge('gpufleet_queue_dead', 'Entries in the dead-letter stream', (s) => s.dead);
    queueGauge('gpufleet_queue_oldest_wait_seconds', 'Age of the oldest waiting task', (s, at) =>
      s.oldestWaitingAt === null ? 0 : Math.max(0, (at - s.oldestWaitingAt) / 1000),
    );
    queueGauge(
      'gpufleet_queue_task_records',
      'Task records held in Redis (waiting, running, retained)',
      (s) => s.memory.records,
    );
    queueGauge(
      'gpufleet_queue_archived_tasks',
      'Tasks archived and removed from Redis, all time',
      (s) => s.memory.archived,
    );
    const rate = new ArchiveRate();
    queueGauge('gpufleet_queue_archived_per_minute', 'Tasks archived per minute (last 5 minutes)', (s, at) =>
      rate.perMinute(s.queue, s.memory.archived, at),
    );
    queueGauge(
      'gpufleet_queue_bytes_per_task',
      'Redis bytes of a task record with its lease and log',
      (s) => s.memory.bytesPerTask,
    );
    queueGauge('gpufleet_queue_redis_bytes', 'Redis bytes the queue holds (records, streams, index)', (s) =>
      s.memory.bytesPerTask === null
        ? s.memory.sharedBytes
        : s.memory.bytesPerTask * s.memory.records + s.memory.sharedBytes,
    );
    const tenantGauge = (name: string, help: string, value: (t: TenantAccount) => number): void => {
      const stats = async (): Promise<QueueScrape[]> => (await this.#queueStats()).stats;
      new Gauge({
        name,
        help,
        labelNames: ['queue', 'tenant'],
        registers,
        async collect() {
          this.reset();
          for (const s of await stats()) {
            for (const [tenant, t] of Object.entries(s.tenants))
              this.set({ queue: s.queue, tenant }, value(t));
          }
        },
      });
    };
    tenantGauge('gpufleet_tenant_waiting_tasks', 'A tenant’s tasks waiting in the queue', (t) => t.waiting);
    tenantGauge(
      'gpufleet_tenant_running_tasks',
      'A tenant’s tasks running in the queue',
      (t) => t.runningTasks,
    );
    tenantGauge(
      'gpufleet_tenant_running_gpus',
      'GPUs held by a tenant’s running tasks',
      (t) => t.runningGpus,
    );
    registerGpuGauges(this.registry, async () => (await this.#queueStats()).stats);
    const stats = (): Promise<{ stats: QueueScrape[]; ok: boolean }> => this.#queueStats();
    this.redisUp = new Gauge({
      name: 'gpufleet_api_redis_up',
      help: '1 when the last scrape could read the queues from Redis, else 0',
      registers,
      async collect() {
        this.set((await stats()).ok ? 1 : 0);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'gpufleet_api_' });
  }

  /** Queue stats, read once per scrape (the gauges share them); `ok` is false when Redis failed. */
  #queueStats(): Promise<{ stats: QueueScrape[]; ok: boolean }> {
    const cached = this.#stats;
    if (cached && this.now() - cached.at < 1000) return cached.value;
    const value = this.readQueueStats().then(
      (stats) => ({ stats, ok: true }),
      () => {
        this.#stats = null;
        return { stats: [], ok: false };
      },
    );
    this.#stats = { at: this.now(), value };
    return value;
  }
}
