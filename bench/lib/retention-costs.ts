/**
 * The retention benchmark's measurements that need no tracker (bench/compare-retention.ts), each on
 * a fresh queue of its own Redis, through core's protocol calls:
 * - `bytesPerTask`: Redis used_memory per task while it waits, while it runs (claimed, leased, its
 *   entry pending), just finished (with a live log stream of two lines, as a no-op leaves) and
 *   retained once its log grace passed, against the queue's memory before it;
 * - `cleanupCost`: the sweep archiving `n` finished tasks: Redis CPU (INFO used_cpu_*) per task and
 *   the longest single command it ran (SLOWLOG with every command logged);
 * - `archivedReads`: reading archived tasks back by id from the local store (ms, p50 and p99).
 */
import type { Redis } from 'ioredis';
import {
  completeTask,
  enqueue,
  expireTaskLog,
  FINAL_STATUSES,
  LocalArtifactStore,
  publishCatalog,
  queueKeys,
  readArchivedTask,
  sweepCaughtUp,
  takeTask,
  TRACKER_GROUP,
  type Claim,
  type QueueKeys,
  type RetentionPolicy,
} from '@gpufleet/core';
import { makeTempDir, removeDir } from '@gpufleet/testkit';
import { quantile } from './stats.js';

const ZERO_RETENTION: RetentionPolicy = {
  byStatus: Object.fromEntries(FINAL_STATUSES.map((s) => [s, 0])),
  tenants: {},
};

export async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
}

async function redisCpuUs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
  return (sys + user) * 1e6;
}

async function noopQueue(redis: Redis, prefix: string): Promise<QueueKeys> {
  const keys = queueKeys(prefix, 'default');
  const entry = { name: 'noop', version: '1', description: '', params: { type: 'object' as const } };
  await publishCatalog(redis, keys, [{ ...entry, gpus: 0, timeLimitMs: 60_000, tracker: 't', updatedAt: 0 }]);
  await redis.xgroup('CREATE', keys.tasks(0), TRACKER_GROUP, '0', 'MKSTREAM');
  return keys;
}

async function inBatches(n: number, one: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i += 100)
    await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, k) => one(i + k)));
}

/** Ends `claims` succeeded, each with a live log stream of two lines (as a no-op leaves). */
async function finishAll(redis: Redis, keys: QueueKeys, claims: readonly Claim[]): Promise<void> {
  await inBatches(claims.length, async (i) => {
    const claim = claims[i] as Claim;
    await redis.xadd(keys.log(claim.taskId), '*', 's', 'stdout', 'd', 'a line of output');
    await redis.xadd(keys.log(claim.taskId), '*', 's', 'stderr', 'd', 'another line');
    await completeTask(redis, keys, claim, 'succeeded', Date.now(), '');
  });
}

async function claimAll(redis: Redis, keys: QueueKeys, n: number): Promise<Claim[]> {
  const claims: Claim[] = [];
  for (let i = 0; i < n; i++) {
    const taken = await takeTask(redis, keys, {
      consumer: 'bench',
      sizes: [{ gpus: 0, fitsNow: true }],
      leaseMs: 600_000,
      token: `t${i}`,
      now: Date.now(),
      idle: false,
    });
    if (taken.kind !== 'claimed') throw new Error(`take ${i} of ${n}: ${taken.kind}`);
    claims.push(taken.claim);
  }
  return claims;
}

export interface BytesPerTask {
  waiting: number;
  running: number;
  /** Just finished: its live log stream still there (the log grace). */
  finished: number;
  /** Finished, the log grace passed: what it holds for the rest of its retention. */
  retained: number;
}

export async function bytesPerTask(redis: Redis, prefix: string, n: number): Promise<BytesPerTask> {
  const keys = await noopQueue(redis, prefix);
  const base = await usedMemory(redis);
  await inBatches(n, () => enqueue({ redis, prefix }, { executer: 'noop' }));
  const waiting = (await usedMemory(redis)) - base;
  const claims = await claimAll(redis, keys, n);
  const running = (await usedMemory(redis)) - base;
  await finishAll(redis, keys, claims);
  const finished = (await usedMemory(redis)) - base;
  // Once the log grace passed (GPUFLEET_LOG_GRACE_MS): what a task then holds for its retention.
  await inBatches(n, (i) => expireTaskLog(redis, keys, (claims[i] as Claim).taskId, 0));
  const retained = (await usedMemory(redis)) - base;
  return { waiting: waiting / n, running: running / n, finished: finished / n, retained: retained / n };
}

export interface CleanupCost {
  archived: number;
  redisCpuUsPerTask: number;
  longestCommandUs: number;
  longestCommand: string;
  sweepMs: number;
  /** The first 1,000 archived ids. */
  ids: string[];
}

/** Archives `n` finished tasks with the sweep (batches of RETENTION_BATCH) into `store`. */
export async function cleanupCost(
  redis: Redis,
  prefix: string,
  n: number,
  store: LocalArtifactStore,
): Promise<CleanupCost> {
  const keys = await noopQueue(redis, prefix);
  await inBatches(n, () => enqueue({ redis, prefix }, { executer: 'noop' }));
  await finishAll(redis, keys, await claimAll(redis, keys, n));
  await redis.config('SET', 'slowlog-log-slower-than', '0');
  await redis.config('SET', 'slowlog-max-len', '1000000');
  await redis.slowlog('RESET');
  const cpu = await redisCpuUs(redis);
  const started = performance.now();
  const swept = await sweepCaughtUp(
    { redis, keys, store, policy: ZERO_RETENTION, limit: 2000 },
    () => Date.now() + 1000,
    Number.POSITIVE_INFINITY,
  );
  const sweepMs = performance.now() - started;
  const cpuUs = (await redisCpuUs(redis)) - cpu;
  const log = (await redis.slowlog('GET', 1_000_000)) as Array<[number, number, number, string[], string]>;
  await redis.config('SET', 'slowlog-log-slower-than', '10000');
  // The commands the sweep sent (a script's own commands, client `?:0`, are inside its FCALL's time).
  const sent = log.filter(
    ([, , , args, client]) => client !== '?:0' && (args[0] ?? '').toLowerCase() !== 'info',
  );
  const longest = sent.reduce((a, b) => (b[2] > a[2] ? b : a), [0, 0, 0, ['none'], '']);
  return {
    archived: swept.removed,
    redisCpuUsPerTask: cpuUs / Math.max(1, swept.removed),
    longestCommandUs: longest[2],
    longestCommand: `${longest[3][0] ?? ''} ${longest[3][1] ?? ''}`.trim(),
    sweepMs,
    ids: swept.ids,
  };
}

/** Reads `ids` back from the archive, one at a time; answers p50 and p99 (ms). */
export async function archivedReads(
  store: LocalArtifactStore,
  ids: readonly string[],
): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (const id of ids) {
    const started = performance.now();
    if (!(await readArchivedTask(store, id))) throw new Error(`archived task ${id} not found`);
    times.push(performance.now() - started);
  }
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99) };
}

/** A local store in a temp folder, removed by `done`. */
export async function tempStore(): Promise<{ store: LocalArtifactStore; done: () => Promise<void> }> {
  const dir = await makeTempDir('gpufleet-retention-');
  return { store: new LocalArtifactStore(dir), done: () => removeDir(dir) };
}
