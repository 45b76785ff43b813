/**
 * Priorities (the scheduling issue): how soon does an urgent task start on a fleet with a deep
 * backlog? `--trackers` real gpufleet-tracker processes × `--gpus` declared GPUs each (no real
 * GPUs: GPUFLEET_GPUS; bench/lib/tracker-fleet.ts). A backlog of `--backlog` 1-GPU `sleep` tasks
 * of a seeded 0.3–0.8 s (times `--scale`) at the default priority is queued first (core enqueue in
 * parallel batches); once every GPU is busy, `--samples` tasks at priority `--priority` (a 0.2 s
 * sleep, times `--scale`) are submitted one at a time, each after the one before started
 * (bench/lib/priority-run.ts). Per sample, from the trackers' `spawned` / `exited` log lines and
 * the record's `createdAt`: its delay after the next free slot (its start − the first exit on any
 * tracker at or after its submission; goal ≤ 100 ms) and its wait (start − submission). Beside it,
 * "oldest-first (today)", computed, not run: the tasks it would have had ahead of it (the queue's
 * waiting count at its submission) and the wait they mean, ahead × the backlog's mean sleep / GPUs.
 * Usage: npm run bench:priority -- [--dry-run] [--trackers 2] [--gpus 4] [--backlog 10000]
 *   [--samples 5] [--priority 900] [--seed 1] [--scale 1]
 * Tiny size: --backlog 200 --samples 2 --scale 0.3. Writes bench/results/priority.json.
 */
import { parseArgs } from 'node:util';
import { PRIORITY_MAX, DEFAULT_PRIORITY } from '@gpufleet/core';
import { startRedis } from '@gpufleet/testkit';
import { backlogTrace, runPriority, type PrioritySample } from './lib/priority-run.js';
import { exitIfDryRun, intFlag, progress, runInfo, writeResult } from './lib/report.js';
import { fmt, quantile } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    trackers: { type: 'string', default: '2' },
    gpus: { type: 'string', default: '4' },
    backlog: { type: 'string', default: '10000' },
    samples: { type: 'string', default: '5' },
    priority: { type: 'string', default: '900' },
    seed: { type: 'string', default: '1' },
    scale: { type: 'string', default: '1' },
  },
});
const TRACKERS = intFlag(values, 'trackers');
const GPUS = intFlag(values, 'gpus');
const BACKLOG = intFlag(values, 'backlog');
const SAMPLES = intFlag(values, 'samples');
const PRIORITY = intFlag(values, 'priority');
const SEED = intFlag(values, 'seed');
const SCALE = Number(values.scale);
if (!(SCALE > 0)) throw new Error(`--scale must be a number > 0 (got ${values.scale})`);
if (TRACKERS < 1 || GPUS < 1 || SAMPLES < 1) throw new Error('--trackers, --gpus and --samples must be ≥ 1');
const TOTAL_GPUS = TRACKERS * GPUS;
if (BACKLOG < 2 * TOTAL_GPUS) throw new Error(`--backlog must be ≥ 2 × the GPUs (${2 * TOTAL_GPUS})`);
if (PRIORITY <= DEFAULT_PRIORITY || PRIORITY > PRIORITY_MAX)
  throw new Error(`--priority must be above the backlog's ${DEFAULT_PRIORITY} and at most ${PRIORITY_MAX}`);
const SAMPLE_MS = Math.round(200 * SCALE);
/** The goal of the scheduling issue: a high-priority task starts within this of the next free slot. */
const GOAL_MS = 100;

exitIfDryRun(values, 'priority');

async function main(): Promise<void> {
  const backlog = backlogTrace(BACKLOG, SEED, SCALE);
  const meanMs = backlog.reduce((a, b) => a + b, 0) / backlog.length;
  progress(
    `backlog (seed ${SEED}): ${BACKLOG} tasks, mean ${fmt(meanMs, 0)} ms, ${fmt((BACKLOG * meanMs) / TOTAL_GPUS / 1000, 0)} s ` +
      `on ${TRACKERS} × ${GPUS} GPUs; ${SAMPLES} samples at priority ${PRIORITY}`,
  );
  const server = await startRedis();
  try {
    const redis = server.client();
    try {
      const info = await runInfo(redis);
      const run = await runPriority({
        redis,
        redisUrl: server.url,
        prefix: `prio${process.pid}`,
        trackers: TRACKERS,
        gpusPerTracker: GPUS,
        backlog,
        samples: SAMPLES,
        sampleMs: SAMPLE_MS,
        samplePriority: PRIORITY,
        timeoutMs: 60_000,
      });
      const expectedMs = (s: PrioritySample): number => (s.waitingAhead * meanMs) / TOTAL_GPUS;
      const delays = run.samples.map((s) => s.delayMs);
      const met = Math.max(...delays) <= GOAL_MS;
      progress(
        `backlog queued in ${fmt(run.backlogSubmitMs / 1000, 2)} s; delay after the next free slot max ` +
          `${fmt(Math.max(...delays), 0)} ms: goal ≤ ${GOAL_MS} ms ${met ? 'met' : 'NOT met'}` +
          (run.samples.some((s) => s.idleGpu)
            ? ' (a sample found an idle GPU: its delay is from its submission)'
            : ''),
      );
      printTable(run.samples, expectedMs);
      await writeResult('priority', info, {
        trackers: TRACKERS,
        gpusPerTracker: GPUS,
        backlog: BACKLOG,
        backlogMeanMs: meanMs,
        samples: SAMPLES,
        sampleMs: SAMPLE_MS,
        priority: PRIORITY,
        seed: SEED,
        scale: SCALE,
        goalMs: GOAL_MS,
        goalMet: met,
        backlogSubmitMs: run.backlogSubmitMs,
        measured: run.samples.map((s) => ({ ...s, oldestFirstExpectedWaitMs: expectedMs(s) })),
      });
    } finally {
      await redis.quit();
    }
  } finally {
    await server.stop();
  }
}

function printTable(samples: readonly PrioritySample[], expectedMs: (s: PrioritySample) => number): void {
  const delay = `priority ${PRIORITY}: start − next free slot ms (goal ≤ ${GOAL_MS})`;
  const wait = `priority ${PRIORITY}: wait ms`;
  const ahead = 'oldest-first (today): tasks ahead';
  const expected = 'oldest-first: expected wait s (ahead × mean / GPUs, computed)';
  const row = (s: PrioritySample): Record<string, string> => ({
    [delay]: `${fmt(s.delayMs, 0)}${s.idleGpu ? ' (idle GPU)' : ''}`,
    [wait]: fmt(s.waitMs, 0),
    [ahead]: String(s.waitingAhead),
    [expected]: fmt(expectedMs(s) / 1000, 1),
  });
  const stat = (q: (values: number[]) => number): Record<string, string> => ({
    [delay]: fmt(q(samples.map((s) => s.delayMs)), 0),
    [wait]: fmt(q(samples.map((s) => s.waitMs)), 0),
    [ahead]: fmt(q(samples.map((s) => s.waitingAhead)), 0),
    [expected]: fmt(q(samples.map(expectedMs)) / 1000, 1),
  });
  console.table({
    ...Object.fromEntries(samples.map((s, i) => [`sample ${i + 1}`, row(s)])),
    p50: stat((v) => quantile(v, 0.5)),
    max: stat((v) => Math.max(...v)),
  });
}

await main();
