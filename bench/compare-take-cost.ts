/**
 * What the scheduling policy costs Redis (the scheduling issue's cost figure): Redis's time per
 * task (its enqueue, take and completion scripts, from INFO commandstats: the time Redis spent
 * running them) and the take's latency as a client sees it (p50, p99), with `--depth` tasks waiting
 * across `--tenants` tenants, against today's protocol before the wait sets (strict oldest-first,
 * bench/lib/baseline-protocol.ts: the frozen scripts of commit 20ace34) on the same queue. Rows:
 * - `before wait sets (20ace34)`: the old scripts, the same tasks (tenants are only counted);
 * - `wait sets, 1 tenant, 1 priority`: today's scripts on a queue shaped like before;
 * - `wait sets, N tenants, 3 priorities`: today's scripts with the whole policy at work (fair share
 *   between weighted tenants, priorities 300/500/700).
 * Each row: fill the queue (sizes 1, 2, 4 and 8 GPUs, tenants round-robin), then `--takes` takes
 * one at a time by a tracker that fits every size, then complete them. Times per script are the
 * commandstats `usec` of EVALSHA (the old scripts) and FCALL (today's, Redis functions) over each
 * phase divided by their calls (every call of a phase runs the same script).
 * The three run in turn, `--rounds` times (this VM is noisy); each figure is the median of its rounds.
 * Usage: npm run bench:take-cost -- [--dry-run] [--depth 100000] [--tenants 20] [--takes 2000]
 *   [--rounds 3]
 * Tiny size: --depth 300 --tenants 3 --takes 50 --rounds 1. Writes bench/results/take-cost.json.
 */
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import {
  completeTask,
  enqueue,
  newTaskId,
  newToken,
  publishCatalog,
  queueKeys,
  takeTask,
  TRACKER_GROUP,
  type Claim,
  type QueueKeys,
} from '@gpufleet/core';
import { startRedis } from '@gpufleet/testkit';
import { baselineComplete, baselineEnqueue, baselineTake } from './lib/baseline-protocol.js';
import { exitIfDryRun, intFlag, progress, runInfo, writeResult } from './lib/report.js';
import { fmt, median, quantile } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    depth: { type: 'string', default: '100000' },
    tenants: { type: 'string', default: '20' },
    takes: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
  },
});
const DEPTH = intFlag(values, 'depth');
const TENANTS = Math.max(1, intFlag(values, 'tenants'));
const TAKES = Math.min(intFlag(values, 'takes'), DEPTH);
const ROUNDS = Math.max(1, intFlag(values, 'rounds'));
const SIZES = [1, 2, 4, 8];
const PARALLEL = 200;
exitIfDryRun(values, 'take-cost');

interface Row {
  name: string;
  enqueueUs: number;
  takeUs: number;
  completeUs: number;
  takeP50Ms: number;
  takeP99Ms: number;
}

/** Redis's time and calls so far running scripts: EVALSHA and FCALL together. */
async function evalStats(redis: Redis): Promise<{ usec: number; calls: number }> {
  const info = await redis.info('commandstats');
  let calls = 0;
  let usec = 0;
  for (const line of info.matchAll(/cmdstat_(?:evalsha|fcall):calls=(\d+),usec=(\d+)/g)) {
    calls += Number(line[1]);
    usec += Number(line[2]);
  }
  return { calls, usec };
}

/** Runs `phase` and answers Redis's script time per call in it (µs). */
async function perCall(redis: Redis, phase: () => Promise<void>): Promise<number> {
  const before = await evalStats(redis);
  await phase();
  const after = await evalStats(redis);
  return (after.usec - before.usec) / Math.max(1, after.calls - before.calls);
}

async function inBatches(count: number, one: (i: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < count; start += PARALLEL) {
    const batch = Array.from({ length: Math.min(PARALLEL, count - start) }, (_, k) => one(start + k));
    await Promise.all(batch);
  }
}

interface Protocol {
  fill(i: number): Promise<void>;
  take(): Promise<{ done: () => Promise<void> } | null>;
}

function baseline(redis: Redis, keys: QueueKeys): Protocol {
  return {
    async fill(i) {
      const gpus = SIZES[i % SIZES.length] as number;
      const tenant = `t${i % TENANTS}`;
      const fields = { queue: 'default', tenant, executer: 'noop', executerVersion: '1', params: '{}', gpus };
      const task = {
        id: newTaskId(Date.now()),
        tenant,
        gpus,
        now: Date.now(),
        fields: { ...fields, maxAttempts: 3 },
      };
      await baselineEnqueue(redis, keys, task);
    },
    async take() {
      const token = newToken();
      const claim = await baselineTake(redis, keys, {
        consumer: 'bench',
        sizes: SIZES,
        token,
        now: Date.now(),
      });
      if (!claim) return null;
      return { done: () => baselineComplete(redis, keys, { ...claim, token, now: Date.now() }) };
    },
  };
}

function waitSets(
  redis: Redis,
  keys: QueueKeys,
  prefix: string,
  tenants: number,
  priorities: number[],
): Protocol {
  return {
    async fill(i) {
      const tenant = `t${i % tenants}`;
      const spec = {
        executer: 'noop',
        gpus: SIZES[i % SIZES.length],
        priority: priorities[i % priorities.length],
      };
      const scheduling = { weight: 1 + ((i % tenants) % 3), maxRunningGpus: null };
      await enqueue({ redis, prefix }, spec, { tenant, scheduling });
    },
    async take() {
      const result = await takeTask(redis, keys, {
        consumer: 'bench',
        sizes: SIZES.map((gpus) => ({ gpus, fitsNow: true })),
        leaseMs: 60_000,
        token: newToken(),
        now: Date.now(),
        idle: true,
      });
      if (result.kind !== 'claimed') return null;
      const claim: Claim = result.claim;
      return { done: async () => void (await completeTask(redis, keys, claim, 'succeeded', Date.now(), '')) };
    },
  };
}

async function measure(
  redis: Redis,
  name: string,
  prefix: string,
  make: (keys: QueueKeys) => Protocol,
): Promise<Row> {
  const keys = queueKeys(prefix, 'default');
  await publishCatalog(redis, keys, [
    {
      name: 'noop',
      version: '1',
      description: '',
      params: {},
      gpus: 1,
      timeLimitMs: 60_000,
      tracker: 'b',
      updatedAt: 0,
    },
  ]);
  for (const gpus of SIZES)
    for (const key of [keys.tasks(gpus), keys.requeued(gpus)])
      await redis.xgroup('CREATE', key, TRACKER_GROUP, '0', 'MKSTREAM');
  const protocol = make(keys);
  progress(`${name}: filling ${DEPTH} tasks`);
  const enqueueUs = await perCall(redis, () => inBatches(DEPTH, (i) => protocol.fill(i)));
  const latencies: number[] = [];
  const taken: Array<() => Promise<void>> = [];
  const takeUs = await perCall(redis, async () => {
    for (let i = 0; i < TAKES; i++) {
      const start = performance.now();
      const claim = await protocol.take();
      latencies.push(performance.now() - start);
      if (!claim) throw new Error(`${name}: take ${i} found nothing`);
      taken.push(claim.done);
    }
  });
  const completeUs = await perCall(redis, () =>
    inBatches(taken.length, (i) => (taken[i] as () => Promise<void>)()),
  );
  await redis.flushall();
  return {
    name,
    enqueueUs,
    takeUs,
    completeUs,
    takeP50Ms: quantile(latencies, 0.5),
    takeP99Ms: quantile(latencies, 0.99),
  };
}

const server = await startRedis();
const redis = server.client();
try {
  const info = await runInfo(redis);
  const scenarios: Array<[string, (keys: QueueKeys, prefix: string) => Protocol]> = [
    ['before wait sets (20ace34)', (keys) => baseline(redis, keys)],
    ['wait sets, 1 tenant, 1 priority', (keys, prefix) => waitSets(redis, keys, prefix, 1, [500])],
    [
      `wait sets, ${TENANTS} tenants, 3 priorities`,
      (keys, prefix) => waitSets(redis, keys, prefix, TENANTS, [300, 500, 700]),
    ],
  ];
  const runs: Row[][] = scenarios.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, [name, make]] of scenarios.entries()) {
      const prefix = `r${round}s${i}`;
      runs[i]?.push(await measure(redis, name, prefix, (keys) => make(keys, prefix)));
    }
  }
  const rows = runs.map((rounds): Row => {
    const mid = (pick: (r: Row) => number): number => median(rounds.map(pick));
    return {
      name: rounds[0]?.name ?? '',
      enqueueUs: mid((r) => r.enqueueUs),
      takeUs: mid((r) => r.takeUs),
      completeUs: mid((r) => r.completeUs),
      takeP50Ms: mid((r) => r.takeP50Ms),
      takeP99Ms: mid((r) => r.takeP99Ms),
    };
  });
  const today = rows[0] as Row;
  const perTask = (r: Row): number => r.enqueueUs + r.takeUs + r.completeUs;
  const table = [
    `depth ${DEPTH}, ${TENANTS} tenants, ${TAKES} takes, median of ${ROUNDS} rounds`,
    '| protocol | enqueue µs | take µs | complete µs | per task µs | per task / before | take p50 ms | take p99 ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${fmt(r.enqueueUs)} | ${fmt(r.takeUs)} | ${fmt(r.completeUs)} | ${fmt(perTask(r))} | ` +
        `${fmt(perTask(r) / perTask(today), 2)} | ${fmt(r.takeP50Ms, 3)} | ${fmt(r.takeP99Ms, 3)} |`,
    ),
  ];
  process.stdout.write(`${table.join('\n')}\n`);
  await writeResult('take-cost', info, {
    depth: DEPTH,
    tenants: TENANTS,
    takes: TAKES,
    rounds: ROUNDS,
    rows,
    runs,
  });
} finally {
  redis.disconnect();
  await server.stop();
}
