/**
 * Tracker benchmarks (the figures of issue "Foundation"):
 * - no-op task throughput on one tracker with 4 CPU slots, against a plain loop spawning the same
 *   program 4 at a time, rounds alternating, medians;
 * - enqueue-to-spawn latency on an idle tracker (p50, p99);
 * - the gap between one task's exit and the next queued task's spawn on the same slot (p50), with
 *   no-op tasks, or with tasks that sleep `--gap-task-ms` (a tracker not kept busy by programs
 *   that end within a millisecond).
 * Runs against the built packages and a redis-server it starts itself.
 * Usage: npm run build && npx tsx bench/tracker-bench.ts [--tasks 2000] [--rounds 3] [--gap-task-ms 0]
 *   [--samples 200] [--warm-up 20] [--backlog N] [--json out.json]
 *   (--samples / --warm-up: latency samples and the ones dropped first; --backlog: tasks of the gap
 *   run, by default 300, or fewer with --gap-task-ms, about 10 s of work)
 * Tiny size (the smoke test): --tasks 20 --rounds 1 --samples 5 --warm-up 2 --backlog 20
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { enqueue, LocalArtifactStore, loadExecuters, queueKeys, silentLogger } from '@gpufleet/core';
import { makeTempDir, removeDir, startRedis, type RedisServer } from '@gpufleet/testkit';
import { preciseNow, resolveTaskInit, Tracker, TRACKER_DEFAULTS, type TaskEvent } from '@gpufleet/tracker';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
    'gap-task-ms': { type: 'string', default: '0' },
    samples: { type: 'string', default: '200' },
    'warm-up': { type: 'string', default: '20' },
    backlog: { type: 'string' },
    json: { type: 'string' },
  },
});
const TASKS = Number(values.tasks);
const ROUNDS = Number(values.rounds);
const EXECUTERS = fileURLToPath(new URL('./executers', import.meta.url));
const CONCURRENCY = 4;
const GAP_TASK_MS = Number(values['gap-task-ms']);
const SAMPLES = Number(values.samples);
const WARM_UP = Number(values['warm-up']);
const BACKLOG =
  values.backlog !== undefined
    ? Number(values.backlog)
    : GAP_TASK_MS > 0
      ? Math.min(300, Math.ceil(10_000 / GAP_TASK_MS))
      : 300;
const GAP_SPEC =
  GAP_TASK_MS > 0
    ? { executer: 'sleep', params: { seconds: String(GAP_TASK_MS / 1000) } }
    : { executer: 'noop' };

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}
const median = (xs: number[]): number =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

let round = 0;
async function makeTracker(
  server: RedisServer,
  cpuSlots: number,
  prefix = `bench${round}`,
): Promise<{ tracker: Tracker; prefix: string; cleanup: () => Promise<void> }> {
  const dir = await makeTempDir('gpufleet-bench-');
  round++;
  const config = {
    ...TRACKER_DEFAULTS,
    redisUrl: server.url,
    consumerName: `bench-${round}`,
    prefix,
    queue: 'default',
    artifactStore: `${dir}/artifacts`,
    artifactStoreSettings: { kind: 'local' as const, root: `${dir}/artifacts`, fsync: true },
    executerPaths: [EXECUTERS],
    gpus: [],
    cpuSlots,
    workDir: `${dir}/work`,
    logLevel: 'silent' as const,
    allowOptInExecuters: false,
    heartbeatMs: 5000,
    keepTaskDirs: false,
    taskInit: 'auto',
  };
  const tracker = new Tracker({
    config,
    logger: silentLogger(),
    store: new LocalArtifactStore(`${dir}/artifacts`),
    executers: await loadExecuters([EXECUTERS]),
    gpuIds: [],
    taskInit: await resolveTaskInit('auto', `${dir}/work`, silentLogger()),
  });
  return {
    tracker,
    prefix,
    cleanup: async () => {
      await tracker.close();
      await removeDir(dir);
    },
  };
}

async function enqueueMany(
  server: RedisServer,
  prefix: string,
  n: number,
  spec: Record<string, unknown> = { executer: 'noop' },
): Promise<string[]> {
  const redis = server.client();
  const ids: string[] = [];
  for (let i = 0; i < n; i += 200) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(200, n - i) }, () => enqueue({ redis, prefix }, spec)),
    );
    ids.push(...batch.map((r) => r.id));
  }
  await redis.quit();
  return ids;
}

/** The id of the queue's newest task event ('0-0' when there is none). */
async function lastEventId(server: RedisServer, prefix: string): Promise<string> {
  const redis = server.client();
  const [newest] = (await redis.xrevrange(
    queueKeys(prefix, 'default').events,
    '+',
    '-',
    'COUNT',
    1,
  )) as Array<[string, string[]]>;
  await redis.quit();
  return newest?.[0] ?? '0-0';
}

/** Waits for `n` tasks of the queue to succeed, counting the events after `after`. */
async function waitForSucceeded(
  server: RedisServer,
  prefix: string,
  n: number,
  after = '0-0',
): Promise<void> {
  const redis = server.client();
  const key = queueKeys(prefix, 'default').events;
  let seen = 0;
  let last = after;
  while (seen < n) {
    const reply = (await redis.xread('COUNT', 1000, 'BLOCK', 1000, 'STREAMS', key, last)) as Array<
      [string, Array<[string, string[]]>]
    > | null;
    for (const [, entries] of reply ?? []) {
      for (const [id, f] of entries) {
        last = id;
        if (f[3] === 'succeeded') seen++;
        else if (f[3] === 'failed' || f[3] === 'dead')
          throw new Error(`a benchmark task ended ${f[3]}: ${f[11]}`);
      }
    }
  }
  await redis.quit();
}

async function gpufleetThroughput(server: RedisServer): Promise<number> {
  const { tracker, prefix, cleanup } = await makeTracker(server, CONCURRENCY);
  await tracker.start();
  await enqueueMany(server, prefix, 10); // warm up: first spawns, script cache
  await waitForSucceeded(server, prefix, 10);
  await tracker.close();
  const second = await makeTracker(server, CONCURRENCY, prefix);
  await enqueueMany(server, second.prefix, TASKS);
  const started = performance.now();
  await second.tracker.start();
  await waitForSucceeded(server, second.prefix, TASKS);
  const seconds = (performance.now() - started) / 1000;
  await second.cleanup();
  await cleanup();
  return TASKS / seconds;
}

async function plainLoopThroughput(): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < TASKS) {
        next++;
        await execa('true', [], { reject: false });
      }
    }),
  );
  return TASKS / ((performance.now() - started) / 1000);
}

async function latencyAndGap(server: RedisServer): Promise<{ latency: number[]; gaps: number[] }> {
  const { tracker, prefix, cleanup } = await makeTracker(server, 1);
  const spawned = new Map<string, number>();
  let waiter: (() => void) | undefined;
  const events: TaskEvent[] = [];
  tracker.on('task', (event) => {
    events.push(event);
    if (event.type === 'spawned') {
      spawned.set(event.taskId, event.at);
      waiter?.();
    }
  });
  await tracker.start();
  const redis = server.client();
  const latency: number[] = [];
  for (let i = 0; i < WARM_UP + SAMPLES; i++) {
    const t0 = preciseNow();
    const { id } = await enqueue({ redis, prefix }, { executer: 'noop' });
    // Woken by the event, not by polling: a loop of setImmediate would keep a vCPU busy.
    if (!spawned.has(id)) await new Promise<void>((resolve) => (waiter = resolve));
    if (i >= WARM_UP) latency.push((spawned.get(id) ?? NaN) - t0);
    await new Promise((resolve) => setTimeout(resolve, 30)); // let it finish: the tracker is idle again
  }
  await tracker.close();
  // Gap: a backlog on one slot; each spawn follows the previous task's exit. Only the backlog's
  // own completions are counted, not the latency loop's before it.
  const backlog = await makeTracker(server, 1, prefix);
  const before = await lastEventId(server, prefix);
  const order: TaskEvent[] = [];
  backlog.tracker.on('task', (event) => order.push(event));
  await enqueueMany(server, backlog.prefix, BACKLOG, GAP_SPEC);
  await backlog.tracker.start();
  await waitForSucceeded(server, backlog.prefix, BACKLOG, before);
  const gaps: number[] = [];
  for (let i = 1; i < order.length; i++) {
    const prev = order[i - 1];
    const cur = order[i];
    if (prev?.type === 'exited' && cur?.type === 'spawned' && i > 40) gaps.push(cur.at - prev.at);
  }
  await backlog.cleanup();
  await cleanup();
  return { latency, gaps };
}

async function main(): Promise<void> {
  const server = await startRedis();
  try {
    const plain: number[] = [];
    const fleet: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      plain.push(await plainLoopThroughput());
      fleet.push(await gpufleetThroughput(server));
      process.stderr.write(
        `round ${r + 1}: plain ${plain.at(-1)?.toFixed(0)} tasks/s, gpufleet ${fleet.at(-1)?.toFixed(0)} tasks/s\n`,
      );
    }
    const { latency, gaps } = await latencyAndGap(server);
    const lat = [...latency].sort((a, b) => a - b);
    const gap = [...gaps].sort((a, b) => a - b);
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      tasks: TASKS,
      rounds: ROUNDS,
      plainTasksPerSecond: median(plain),
      gpufleetTasksPerSecond: median(fleet),
      ratio: median(fleet) / median(plain),
      perTaskOverheadMs: 1000 / median(fleet) - 1000 / median(plain),
      enqueueToSpawnMs: { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), samples: lat.length },
      exitToNextSpawnMs: { p50: quantile(gap, 0.5), p99: quantile(gap, 0.99), samples: gap.length },
      gapTaskMs: GAP_TASK_MS,
    };
    const shown = (value: number, digits: number): string =>
      ROUNDS > 0 ? value.toFixed(digits) : 'not run (--rounds 0)';
    console.table({
      'plain loop (tasks/s)': shown(result.plainTasksPerSecond, 0),
      'gpufleet (tasks/s)': shown(result.gpufleetTasksPerSecond, 0),
      'ratio (target ≥ 0.85)': shown(result.ratio, 3),
      'enqueue→spawn p50 ms (≤ 2)': result.enqueueToSpawnMs.p50.toFixed(2),
      'enqueue→spawn p99 ms (≤ 10)': result.enqueueToSpawnMs.p99.toFixed(2),
      [`exit→next spawn p50 ms (≤ 5), tasks of ${GAP_TASK_MS} ms`]: result.exitToNextSpawnMs.p50.toFixed(2),
    });
    if (values.json) await writeFile(values.json, JSON.stringify(result, null, 2));
  } finally {
    await server.stop();
  }
}

await main();
