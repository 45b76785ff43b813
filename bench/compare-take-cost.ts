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
 * one at a time by a tracker that fits every size, then complete them. The three rows share one
 * redis-server, each on a queue of its own, and their work is interleaved in blocks (200 enqueues
 * of one, then of the next, ...; 50 takes; 200 completions), so that the VM's speed, which drifts
 * by tens of percent within minutes here, weighs on every row alike. Two measures of each phase,
 * from INFO before and after each block, divided by the phase's calls:
 * - script time: the commandstats `usec` of EVALSHA and EVAL (the old scripts) and FCALL (today's,
 *   Redis functions), the wall time Redis spent inside them (on a loaded VM it includes time the
 *   process was not running);
 * - Redis CPU: INFO's `used_cpu_user + used_cpu_sys` of the redis-server process over the block
 *   (the scripts, reading the requests and writing the replies, and the INFO of the block).
 * `--rounds` rounds (this VM is noisy); each figure is the median of its rounds, and "/ before,
 * rounds" the median of each round's own ratio.
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
/** Takes of one protocol before the next protocol's (measureRound). */
const TAKE_BLOCK = 50;
exitIfDryRun(values, 'take-cost');

/** A phase's cost per call (µs): script time and Redis CPU (see above). */
interface Cost {
  script: number;
  cpu: number;
}

interface Row {
  name: string;
  enqueue: Cost;
  take: Cost;
  complete: Cost;
  takeP50Ms: number;
  takeP99Ms: number;
}

/** Redis's script time and calls so far (EVALSHA, EVAL and FCALL together), and its CPU time (µs). */
async function redisStats(redis: Redis): Promise<{ usec: number; calls: number; cpu: number }> {
  const [commands, cpu] = await Promise.all([redis.info('commandstats'), redis.info('cpu')]);
  let calls = 0;
  let usec = 0;
  for (const line of commands.matchAll(/cmdstat_(?:evalsha|eval|fcall):calls=(\d+),usec=(\d+)/g)) {
    calls += Number(line[1]);
    usec += Number(line[2]);
  }
  const seconds = [...cpu.matchAll(/^used_cpu_(?:user|sys):([\d.]+)/gm)].reduce(
    (t, m) => t + Number(m[1]),
    0,
  );
  return { calls, usec, cpu: seconds * 1e6 };
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

/** Sums of a phase's cost over the blocks of one protocol (µs, and the calls). */
class Tally {
  script = 0;
  cpu = 0;
  calls = 0;
  async add(redis: Redis, block: () => Promise<void>): Promise<void> {
    const before = await redisStats(redis);
    await block();
    const after = await redisStats(redis);
    this.script += after.usec - before.usec;
    this.cpu += after.cpu - before.cpu;
    this.calls += after.calls - before.calls;
  }
  perCall(): Cost {
    const calls = Math.max(1, this.calls);
    return { script: this.script / calls, cpu: this.cpu / calls };
  }
}

async function prepareQueue(redis: Redis, keys: QueueKeys): Promise<void> {
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
}

/**
 * One round: every protocol on a queue of its own on the same server, their work interleaved in
 * blocks (PARALLEL enqueues or completions, TAKE_BLOCK takes of one protocol, then the next's), so
 * that the VM's speed, which drifts by tens of percent within minutes here, weighs on every row
 * alike. Each block's cost is read from INFO before and after it.
 */
async function measureRound(
  redis: Redis,
  round: number,
  scenarios: Array<[string, (keys: QueueKeys, prefix: string) => Protocol]>,
): Promise<Row[]> {
  const queues = await Promise.all(
    scenarios.map(async ([name, make], i) => {
      const prefix = `r${round}s${i}`;
      const keys = queueKeys(prefix, 'default');
      await prepareQueue(redis, keys);
      return { name, protocol: make(keys, prefix), tallies: [new Tally(), new Tally(), new Tally()] };
    }),
  );
  progress(`round ${round + 1}: filling ${DEPTH} tasks for each of ${queues.length} protocols, interleaved`);
  for (let start = 0; start < DEPTH; start += PARALLEL) {
    const count = Math.min(PARALLEL, DEPTH - start);
    for (const q of queues)
      await q.tallies[0]?.add(redis, async () => {
        await Promise.all(Array.from({ length: count }, (_, k) => q.protocol.fill(start + k)));
      });
  }
  const latencies = queues.map((): number[] => []);
  const taken = queues.map((): Array<() => Promise<void>> => []);
  for (let start = 0; start < TAKES; start += TAKE_BLOCK) {
    for (const [n, q] of queues.entries())
      await q.tallies[1]?.add(redis, async () => {
        for (let i = start; i < Math.min(TAKES, start + TAKE_BLOCK); i++) {
          const began = performance.now();
          const claim = await q.protocol.take();
          latencies[n]?.push(performance.now() - began);
          if (!claim) throw new Error(`${q.name}: take ${i} found nothing`);
          taken[n]?.push(claim.done);
        }
      });
  }
  for (let start = 0; start < TAKES; start += PARALLEL) {
    for (const [n, q] of queues.entries())
      await q.tallies[2]?.add(redis, async () => {
        await Promise.all((taken[n] ?? []).slice(start, start + PARALLEL).map((done) => done()));
      });
  }
  await redis.flushall();
  return queues.map((q, n) => ({
    name: q.name,
    enqueue: (q.tallies[0] as Tally).perCall(),
    take: (q.tallies[1] as Tally).perCall(),
    complete: (q.tallies[2] as Tally).perCall(),
    takeP50Ms: quantile(latencies[n] ?? [], 0.5),
    takeP99Ms: quantile(latencies[n] ?? [], 0.99),
  }));
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
    const rows = await measureRound(redis, round, scenarios);
    rows.forEach((row, i) => runs[i]?.push(row));
  }
  const perTask = (r: Row, m: keyof Cost): number => r.enqueue[m] + r.take[m] + r.complete[m];
  const mid = (rounds: Row[], pick: (r: Row) => number): number => median(rounds.map(pick));
  const cost = (rounds: Row[], phase: 'enqueue' | 'take' | 'complete'): Cost => ({
    script: mid(rounds, (r) => r[phase].script),
    cpu: mid(rounds, (r) => r[phase].cpu),
  });
  const rows = runs.map((rounds): Row & { roundRatio: Cost } => ({
    name: rounds[0]?.name ?? '',
    enqueue: cost(rounds, 'enqueue'),
    take: cost(rounds, 'take'),
    complete: cost(rounds, 'complete'),
    takeP50Ms: mid(rounds, (r) => r.takeP50Ms),
    takeP99Ms: mid(rounds, (r) => r.takeP99Ms),
    // Each round's own ratio to the "before" row of that round.
    roundRatio: {
      script: median(rounds.map((r, k) => perTask(r, 'script') / perTask(runs[0]?.[k] as Row, 'script'))),
      cpu: median(rounds.map((r, k) => perTask(r, 'cpu') / perTask(runs[0]?.[k] as Row, 'cpu'))),
    },
  }));
  const today = rows[0] as Row;
  const phases = (r: Row, m: keyof Cost): string =>
    `${fmt(r.enqueue[m])} / ${fmt(r.take[m])} / ${fmt(r.complete[m])}`;
  const table = [
    `depth ${DEPTH}, ${TENANTS} tenants, ${TAKES} takes, median of ${ROUNDS} rounds`,
    '| protocol | script µs: enqueue / take / complete | script µs per task | script / before | script / before, rounds | ' +
      'Redis CPU µs: enqueue / take / complete | CPU µs per task | CPU / before | CPU / before, rounds | take p50 ms | take p99 ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${phases(r, 'script')} | ${fmt(perTask(r, 'script'))} | ` +
        `${fmt(perTask(r, 'script') / perTask(today, 'script'), 2)} | ${fmt(r.roundRatio.script, 2)} | ` +
        `${phases(r, 'cpu')} | ${fmt(perTask(r, 'cpu'))} | ${fmt(perTask(r, 'cpu') / perTask(today, 'cpu'), 2)} | ` +
        `${fmt(r.roundRatio.cpu, 2)} | ${fmt(r.takeP50Ms, 3)} | ${fmt(r.takeP99Ms, 3)} |`,
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
