/**
 * gpufleet as the benchmarks run it in-process: a Tracker with CPU slots on the bench executers
 * (the same set-up as bench/tracker-bench.ts), enqueueing, waiting for final statuses on the
 * queue's events stream, and a timed backlog run (throughput and CPU per task).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import {
  enqueue,
  LocalArtifactStore,
  loadExecuters,
  queueKeys,
  silentLogger,
  type ArtifactStore,
  type Logger,
} from '@gpufleet/core';
import { makeTempDir, removeDir, type RedisServer } from '@gpufleet/testkit';
import { resolveTaskInit, Tracker, TRACKER_DEFAULTS, type TrackerConfig } from '@gpufleet/tracker';
import { cpuDelta, cpuSample, type CpuSample } from './cpu.js';
import { BENCH_EXECUTERS, noopWork, type Work } from './programs.js';

export interface InProcessTracker {
  tracker: Tracker;
  prefix: string;
  dir: string;
  cleanup: () => Promise<void>;
}

/** How to build the tracker; everything but cpuSlots defaults to what the daemon does. */
export interface TrackerOptions {
  cpuSlots: number;
  prefix?: string;
  logger?: Logger;
  /** The artifact store over `root` (default LocalArtifactStore). */
  store?: (root: string) => ArtifactStore;
  /** Run executers directly, without gpufleet-task-init. */
  noTaskInit?: boolean;
  keepTaskDirs?: boolean;
  /** Tracker settings over the defaults (bench:retention: the retention and its sweep period). */
  config?: Partial<Pick<TrackerConfig, 'retention' | 'retentionSweepMs'>>;
}

let count = 0;
let taskInit: Promise<string | null> | undefined;

/** gpufleet-task-init, built once (cached by source hash under the temp folder, as trackers do). */
export function benchTaskInit(): Promise<string | null> {
  taskInit ??= resolveTaskInit('auto', join(tmpdir(), 'gpufleet-compare'), silentLogger());
  return taskInit;
}

export async function makeTracker(redisUrl: string, options: TrackerOptions): Promise<InProcessTracker> {
  const dir = await makeTempDir('gpufleet-compare-');
  count++;
  const prefix = options.prefix ?? `cmp${count}${process.pid}`;
  const logger = options.logger ?? silentLogger();
  const config = {
    ...TRACKER_DEFAULTS,
    redisUrl,
    consumerName: `compare-${count}`,
    prefix,
    artifactStore: `${dir}/artifacts`,
    artifactStoreSettings: { kind: 'local' as const, root: `${dir}/artifacts`, fsync: true },
    executerPaths: BENCH_EXECUTERS,
    gpus: [],
    cpuSlots: options.cpuSlots,
    workDir: `${dir}/work`,
    logLevel: 'silent' as const,
    allowOptInExecuters: false,
    heartbeatMs: TRACKER_DEFAULTS.leaseMs / 3,
    keepTaskDirs: options.keepTaskDirs ?? false,
    taskInit: 'auto',
    ...options.config,
  };
  const root = `${dir}/artifacts`;
  const tracker = new Tracker({
    config,
    logger,
    store: options.store ? options.store(root) : new LocalArtifactStore(root),
    executers: await loadExecuters(BENCH_EXECUTERS),
    gpuIds: [],
    taskInit: options.noTaskInit ? null : await benchTaskInit(),
  });
  return {
    tracker,
    prefix,
    dir,
    cleanup: async () => {
      await tracker.close();
      await removeDir(dir);
    },
  };
}

/** Enqueues `n` tasks of `work`, 200 at a time; returns their ids in order. */
export async function enqueueMany(redis: Redis, prefix: string, n: number, work: Work): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 200) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(200, n - i) }, () =>
        enqueue({ redis, prefix }, { executer: work.executer, params: work.params }),
      ),
    );
    ids.push(...batch.map((r) => r.id));
  }
  return ids;
}

/** The id of the queue's newest event ('0-0' if none): wait for final statuses after it. */
export async function lastEventId(redis: Redis, prefix: string): Promise<string> {
  const [last] = await redis.xrevrange(queueKeys(prefix, 'default').events, '+', '-', 'COUNT', 1);
  return last?.[0] ?? '0-0';
}

const FINAL = ['succeeded', 'failed', 'dead', 'cancelled', 'timed_out'];

/**
 * Resolves once `n` tasks have reached a final status after the event `from`; throws when one
 * ended otherwise than `expect` (default succeeded).
 */
export async function waitForFinal(
  redis: Redis,
  prefix: string,
  n: number,
  options: { from?: string; expect?: string; timeoutMs?: number } = {},
): Promise<void> {
  const key = queueKeys(prefix, 'default').events;
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  let seen = 0;
  let last = options.from ?? '0-0';
  while (seen < n) {
    if (Date.now() > deadline) throw new Error(`only ${seen} of ${n} tasks ended in time`);
    const reply = (await redis.xread('COUNT', 1000, 'BLOCK', 1000, 'STREAMS', key, last)) as Array<
      [string, Array<[string, string[]]>]
    > | null;
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        last = id;
        const status = fields[fields.indexOf('status') + 1] ?? '';
        if (!FINAL.includes(status)) continue;
        if (status !== (options.expect ?? 'succeeded'))
          throw new Error(`a benchmark task ended ${status}: ${fields[fields.indexOf('reason') + 1] ?? ''}`);
        seen++;
      }
    }
  }
}

export interface BacklogRun {
  tasksPerSecond: number;
  /** CPU over the timed part: this process, its reaped children (the programs), redis-server. */
  cpu: CpuSample;
}

/**
 * A warm-up tracker publishes the catalog and runs `warmUp` tasks; then `n` no-op tasks are
 * enqueued and a fresh tracker on the same prefix is started and timed until all have succeeded.
 * `around` wraps the timed part (to profile it).
 */
export async function runBacklog(
  server: RedisServer,
  n: number,
  options: TrackerOptions & { warmUp?: number; onTracker?: (tracker: Tracker) => void },
  around: (run: () => Promise<void>) => Promise<void> = (run) => run(),
): Promise<BacklogRun> {
  const redis = server.client();
  const work = noopWork();
  const warm = await makeTracker(server.url, options);
  await warm.tracker.start();
  await enqueueMany(redis, warm.prefix, options.warmUp ?? 20, work);
  await waitForFinal(redis, warm.prefix, options.warmUp ?? 20);
  await warm.tracker.close();
  const timed = await makeTracker(server.url, { ...options, prefix: warm.prefix });
  options.onTracker?.(timed.tracker);
  await enqueueMany(redis, warm.prefix, n, work);
  const from = await lastEventId(redis, warm.prefix);
  let run: BacklogRun | undefined;
  await around(async () => {
    const before = cpuSample(server.pid);
    const started = performance.now();
    await timed.tracker.start();
    await waitForFinal(redis, warm.prefix, n, { from });
    const seconds = (performance.now() - started) / 1000;
    run = { tasksPerSecond: n / seconds, cpu: cpuDelta(before, cpuSample(server.pid)) };
  });
  await timed.cleanup();
  await warm.cleanup();
  await redis.quit();
  if (!run) throw new Error('the timed run did not happen');
  return run;
}
