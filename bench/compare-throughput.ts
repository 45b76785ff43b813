/**
 * Throughput, gpufleet against BullMQ (issue 8): N tasks whose work is spawning the no-op program
 * `true`, through (a) gpufleet, one in-process tracker with C CPU slots, (b) a BullMQ Worker with
 * concurrency C whose processor spawns it with execa, (c) a plain loop spawning it C at a time
 * (the limit). Each round runs all three, in an order that rotates from round to round; the
 * figures are medians over the rounds. Per-task overhead = 1/throughput − 1/(plain throughput).
 * CPU per task is split into the worker process (the Node process running the tracker or the
 * Worker), the programs it spawned (task-init and `true`, or `true`), and redis-server.
 * Usage: npm run bench:throughput -- [--dry-run] [--tasks 5000] [--rounds 5] [--concurrency 4]
 * (or npx tsc -b && npx tsx bench/compare-throughput.ts ...). Writes bench/results/throughput.json.
 */
import { parseArgs } from 'node:util';
import { startRedis, type RedisServer } from '@gpufleet/testkit';
import { addMany, makeBull } from './lib/bullmq.js';
import { cpuDelta, cpuSample, type CpuSample } from './lib/cpu.js';
import { runBacklog } from './lib/gpufleet.js';
import { plainLoop } from './lib/plain.js';
import { noopWork } from './lib/programs.js';
import { exitIfDryRun, intFlag, progress, runInfo, writeResult } from './lib/report.js';
import { fmt, median } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    tasks: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '4' },
  },
});
const TASKS = intFlag(values, 'tasks');
const ROUNDS = intFlag(values, 'rounds');
const CONCURRENCY = intFlag(values, 'concurrency');
const WARM_UP = 20;
const work = noopWork();

type System = 'gpufleet' | 'bullmq' | 'plain';
interface Run {
  tasksPerSecond: number;
  cpu: CpuSample;
}

async function timed(server: RedisServer, body: () => Promise<void>): Promise<Run> {
  const before = cpuSample(server.pid);
  const started = performance.now();
  await body();
  const seconds = (performance.now() - started) / 1000;
  return { tasksPerSecond: TASKS / seconds, cpu: cpuDelta(before, cpuSample(server.pid)) };
}

async function gpufleetRound(server: RedisServer): Promise<Run> {
  return runBacklog(server, TASKS, { cpuSlots: CONCURRENCY, warmUp: WARM_UP });
}

async function bullmqRound(server: RedisServer): Promise<Run> {
  const warm = makeBull(server.url, CONCURRENCY);
  await addMany(warm.queue, WARM_UP, work);
  warm.start();
  await warm.completed(WARM_UP);
  await warm.close();
  const bull = makeBull(server.url, CONCURRENCY);
  await addMany(bull.queue, TASKS, work);
  await bull.worker.waitUntilReady();
  const run = await timed(server, async () => {
    bull.start();
    await bull.completed(TASKS);
  });
  await bull.close();
  return run;
}

async function plainRound(server: RedisServer): Promise<Run> {
  await plainLoop(WARM_UP, CONCURRENCY, work.argv);
  return timed(server, async () => {
    await plainLoop(TASKS, CONCURRENCY, work.argv);
  });
}

exitIfDryRun(values, 'throughput');

async function main(): Promise<void> {
  const server = await startRedis();
  try {
    const info = await runInfo(server.client());
    const rounds: Record<System, Run[]> = { gpufleet: [], bullmq: [], plain: [] };
    const order: System[] = ['plain', 'gpufleet', 'bullmq'];
    const run = { gpufleet: gpufleetRound, bullmq: bullmqRound, plain: plainRound };
    for (let r = 0; r < ROUNDS; r++) {
      const turn = [...order.slice(r % 3), ...order.slice(0, r % 3)];
      for (const system of turn) rounds[system].push(await run[system](server));
      const line = turn.map((s) => `${s} ${rounds[s].at(-1)?.tasksPerSecond.toFixed(0)}`).join(', ');
      progress(`round ${r + 1}/${ROUNDS} (tasks/s): ${line}`);
    }
    const tps = (s: System): number => median(rounds[s].map((x) => x.tasksPerSecond));
    const cpu = (s: System, k: keyof CpuSample): number => median(rounds[s].map((x) => x.cpu[k] / TASKS));
    const overheadMs = (s: System): number => 1000 / tps(s) - 1000 / tps('plain');
    const systems: System[] = ['gpufleet', 'bullmq', 'plain'];
    const result = {
      tasks: TASKS,
      rounds: ROUNDS,
      concurrency: CONCURRENCY,
      tasksPerSecond: Object.fromEntries(systems.map((s) => [s, tps(s)])),
      perRound: rounds,
      perTaskOverheadMs: { gpufleet: overheadMs('gpufleet'), bullmq: overheadMs('bullmq') },
      cpuMsPerTask: Object.fromEntries(
        systems.map((s) => [
          s,
          {
            worker: cpu(s, 'selfMs'),
            workerSys: cpu(s, 'selfSysMs'),
            programs: cpu(s, 'childrenMs'),
            redis: cpu(s, 'otherMs'),
          },
        ]),
      ),
      ratios: {
        gpufleetToBullmq: tps('gpufleet') / tps('bullmq'),
        gpufleetToPlain: tps('gpufleet') / tps('plain'),
      },
    };
    const targets = {
      'overhead gpufleet ≤ BullMQ': result.perTaskOverheadMs.gpufleet <= result.perTaskOverheadMs.bullmq,
      'gpufleet ≥ 0.85 × plain': result.ratios.gpufleetToPlain >= 0.85,
    };
    console.table(
      Object.fromEntries(
        systems.map((s) => [
          s,
          {
            'tasks/s (median)': fmt(tps(s), 0),
            'overhead ms/task': s === 'plain' ? '0' : fmt(overheadMs(s), 2),
            'CPU ms/task: worker': fmt(cpu(s, 'selfMs'), 2),
            programs: fmt(cpu(s, 'childrenMs'), 2),
            redis: fmt(cpu(s, 'otherMs'), 2),
          },
        ]),
      ),
    );
    console.table({
      'a/b (gpufleet / BullMQ)': fmt(result.ratios.gpufleetToBullmq, 3),
      'a/c (gpufleet / plain, target ≥ 0.85)': fmt(result.ratios.gpufleetToPlain, 3),
      ...Object.fromEntries(
        Object.entries(targets).map(([k, ok]) => [`target: ${k}`, ok ? 'met' : 'MISSED']),
      ),
    });
    await writeResult('throughput', info, { ...result, targets });
  } finally {
    await server.stop();
  }
}

await main();
