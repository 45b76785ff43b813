/**
 * Scheduling quality on a mixed trace (the scheduling issue): how well gpufleet's take
 * (packages/core/lua/take.lua: the scheduling order with EASY backfill, time limits as estimates)
 * keeps GPUs busy, beside strict oldest-first (what it did before backfill) and ideal backfill. `--trackers` real gpufleet-tracker processes × `--gpus` declared GPUs each (no real
 * GPUs: GPUFLEET_GPUS) run a seeded trace of 1-, 2-, 4- and 8-GPU `sleep` tasks of 0.5–5 s (times
 * `--scale`; bench/lib/scheduling-trace.ts), each with a time limit of 1.25 × its duration (at
 * least 1 s), all queued at once (bench/lib/scheduling-fleet.ts:
 * times from the trackers' `spawned` / `exited` / `completed` log lines and the records). The same
 * trace is scheduled offline (bench/lib/schedule-sim.ts) strictly oldest-first (the fleet before
 * backfill measured within 1–8 % of it: docs/benchmarks.md) and with EASY backfill knowing the exact
 * durations, the limit column: what a backfilling scheduler would reach with no overhead. One table: makespan, the lower bound max(GPU-time / GPUs,
 * longest task), makespan / bound, utilisation (busy GPU-time / (GPUs × makespan)) and the wait
 * (submission → start) of the biggest tasks.
 * Usage: npm run bench:scheduling -- [--dry-run] [--tasks 120] [--trackers 4] [--gpus 8] [--seed 1]
 *   [--scale 1]
 * Tiny size: --tasks 6 --trackers 2 --gpus 2 --scale 0.2. Writes bench/results/scheduling.json.
 */
import { parseArgs } from 'node:util';
import { startRedis } from '@gpufleet/testkit';
import { exitIfDryRun, intFlag, progress, runInfo, writeResult } from './lib/report.js';
import {
  makespanBoundMs,
  scheduleFigures,
  type ScheduleFigures,
  type TaskTimes,
} from './lib/schedule-figures.js';
import { simulateSchedule, type SimPolicy } from './lib/schedule-sim.js';
import { runTraceOnFleet } from './lib/scheduling-fleet.js';
import { makeTrace, type TraceTask } from './lib/scheduling-trace.js';
import { fmt } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    tasks: { type: 'string', default: '120' },
    trackers: { type: 'string', default: '4' },
    gpus: { type: 'string', default: '8' },
    seed: { type: 'string', default: '1' },
    scale: { type: 'string', default: '1' },
  },
});
const TASKS = intFlag(values, 'tasks');
const TRACKERS = intFlag(values, 'trackers');
const GPUS = intFlag(values, 'gpus');
const SEED = intFlag(values, 'seed');
const SCALE = Number(values.scale);
if (!(SCALE > 0)) throw new Error(`--scale must be a number > 0 (got ${values.scale})`);
if (TASKS < 1 || TRACKERS < 1 || GPUS < 1) throw new Error('--tasks, --trackers and --gpus must be ≥ 1');
const TOTAL_GPUS = TRACKERS * GPUS;

exitIfDryRun(values, 'scheduling');

/** The simulated schedule's times (all submitted at 0). */
function simulated(trace: readonly TraceTask[], policy: SimPolicy): TaskTimes[] {
  const { placements } = simulateSchedule(trace, { trackers: TRACKERS, gpusPerTracker: GPUS }, policy);
  return placements.map((p, i) => ({
    gpus: (trace[i] as TraceTask).gpus,
    submitMs: 0,
    startMs: p.startMs,
    endMs: p.endMs,
  }));
}

async function main(): Promise<void> {
  const trace = makeTrace({ tasks: TASKS, seed: SEED, maxGpus: GPUS, scale: SCALE });
  const boundMs = makespanBoundMs(trace, TOTAL_GPUS);
  const fifo = scheduleFigures(simulated(trace, 'oldest-first'), TOTAL_GPUS);
  const easy = scheduleFigures(simulated(trace, 'easy-backfill'), TOTAL_GPUS);
  const gpuSeconds = trace.reduce((sum, t) => sum + t.gpus * t.durationMs, 0) / 1000;
  const sizes = [...new Set(trace.map((t) => t.gpus))].sort((a, b) => a - b);
  progress(
    `trace (seed ${SEED}): ${TASKS} tasks of ${sizes.map((g) => `${g} GPU × ${trace.filter((t) => t.gpus === g).length}`).join(', ')}; ` +
      `${fmt(gpuSeconds, 1)} GPU-s on ${TRACKERS} × ${GPUS} GPUs; simulated oldest-first ${fmt(fifo.makespanMs / 1000, 1)} s, backfill ${fmt(easy.makespanMs / 1000, 1)} s`,
  );

  const server = await startRedis();
  try {
    const redis = server.client();
    try {
      const info = await runInfo(redis);
      const run = await runTraceOnFleet(trace, {
        redis,
        redisUrl: server.url,
        prefix: `sched${process.pid}`,
        trackers: TRACKERS,
        gpusPerTracker: GPUS,
        timeoutMs: Math.max(60_000, 3 * fifo.makespanMs + 30_000),
      });
      const measured = scheduleFigures(run.tasks, TOTAL_GPUS);
      progress(
        `fleet: ${TASKS} tasks queued in ${run.submitSpanMs} ms; makespan ${fmt(measured.makespanMs / 1000, 2)} s` +
          (run.rerun ? `; ${run.rerun} tasks ran more than once` : ''),
      );
      printTable(measured, fifo, easy, boundMs);
      await writeResult('scheduling', info, {
        tasks: TASKS,
        trackers: TRACKERS,
        gpusPerTracker: GPUS,
        seed: SEED,
        scale: SCALE,
        gpuSeconds,
        boundMs,
        submitSpanMs: run.submitSpanMs,
        rerun: run.rerun,
        measured,
        simulated: { oldestFirst: fifo, easyBackfill: easy },
        trace,
        fleetTasks: run.tasks,
      });
    } finally {
      await redis.quit();
    }
  } finally {
    await server.stop();
  }
}

function printTable(
  measured: ScheduleFigures,
  fifo: ScheduleFigures,
  easy: ScheduleFigures,
  boundMs: number,
): void {
  const columns = {
    'gpufleet (measured)': measured,
    'simulated oldest-first': fifo,
    'simulated EASY backfill (limit)': easy,
  };
  const s = (ms: number): string => fmt(ms / 1000, 2);
  const big = `${easy.bigGpus}-GPU tasks (${easy.bigTasks})`;
  const rows: Record<string, (f: ScheduleFigures) => string> = {
    'makespan s': (f) => s(f.makespanMs),
    'makespan / gpufleet measured': (f) => fmt(f.makespanMs / measured.makespanMs, 3),
    'lower bound s: max(GPU-s / GPUs, longest)': () => s(boundMs),
    'makespan / bound': (f) => fmt(f.makespanMs / boundMs, 3),
    'utilisation: busy GPU-s / (GPUs × makespan)': (f) => fmt(f.utilisation, 3),
    'utilisation / backfill limit': (f) => fmt(f.utilisation / easy.utilisation, 3),
    [`${big}: wait max s`]: (f) => s(f.bigWaitMaxMs),
    [`${big}: wait p50 s`]: (f) => s(f.bigWaitP50Ms),
  };
  console.table(
    Object.fromEntries(
      Object.entries(rows).map(([row, cell]) => [
        row,
        Object.fromEntries(Object.entries(columns).map(([column, f]) => [column, cell(f)])),
      ]),
    ),
  );
}

await main();
