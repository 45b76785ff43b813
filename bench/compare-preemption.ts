/**
 * Preemption: on a fleet full of long-running work, how soon does an urgent task start?
 * `--trackers` real gpufleet-tracker processes × `--gpus` declared GPUs each (no real GPUs:
 * GPUFLEET_GPUS; bench/lib/tracker-fleet.ts), GPUFLEET_PREEMPT_GRACE_MS = `--grace-ms`. Every GPU
 * is filled with 1-GPU `sleep` tasks of `--long-ms` at priority 300, and `--backlog` more of them
 * wait; once every GPU is busy, `--samples` urgent tasks (a `--urgent-ms` sleep at priority 900)
 * are submitted one at a time (bench/lib/preemption-run.ts). Two runs, one after the other, on
 * fresh queues of one redis-server:
 * - preemptible: the long tasks submitted `preemptible: true`; each urgent task is submitted once
 *   the one before started. Measured from the trackers' `spawned` / `exited` / `preempting` lines
 *   and the record's createdAt: its wait (start − submission), the decision (`preempting` −
 *   submission), the SIGTERM (the victim's exit − `preempting`: `sleep` exits on SIGTERM, so this
 *   is the stop, not the grace), the restart (start − the victim's exit), and how long the victim
 *   then waited in line before it ran again.
 * - not preemptible (today): the long tasks without the field. Its wait is COMPUTED, not waited
 *   out: the time from the urgent task's submission until the first running long task ends (its
 *   `spawned` time + --long-ms), as compare-priority.ts computes its oldest-first row. The long
 *   tasks all start together, so measuring it for real costs a whole --long-ms per sample (5 min at
 *   the defaults). What is run is each urgent task watched for 2 s (it must neither start nor have
 *   a task stopped for it: none may be stopped that was not submitted preemptible), then cancelled.
 * Each run is checked (bench/lib/preemption-figures.ts `checkRun`): one preemption per urgent task
 * and none without preemptible tasks, each victim handed back and run again (or still queued when
 * the run stopped) with no fresh task started ahead of it, no attempt counted, and every task in a
 * known state at the end (the fleet stops with no shutdown grace, handing its running tasks back).
 * A failed check is printed and the script exits 1, after the table and the results file.
 * Usage: npm run bench:preemption -- [--dry-run] [--trackers 2] [--gpus 4] [--grace-ms 30000]
 *   [--long-ms 60000] [--backlog 100] [--samples 5] [--urgent-ms 1000]
 * Tiny size: --trackers 1 --gpus 2 --backlog 4 --samples 2 --long-ms 20000 --grace-ms 2000.
 * Writes bench/results/preemption.json.
 */
import { parseArgs } from 'node:util';
import { startRedis } from '@gpufleet/testkit';
import type { PreemptionSample, RunChecks } from './lib/preemption-figures.js';
import { runPreemption, type PreemptionRun } from './lib/preemption-run.js';
import { exitIfDryRun, intFlag, progress, runInfo, writeResult } from './lib/report.js';
import { fmt, quantile } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    trackers: { type: 'string', default: '2' },
    gpus: { type: 'string', default: '4' },
    'grace-ms': { type: 'string', default: '30000' },
    'long-ms': { type: 'string', default: '60000' },
    backlog: { type: 'string', default: '100' },
    samples: { type: 'string', default: '5' },
    'urgent-ms': { type: 'string', default: '1000' },
  },
});
const TRACKERS = intFlag(values, 'trackers');
const GPUS = intFlag(values, 'gpus');
const GRACE_MS = intFlag(values, 'grace-ms');
const LONG_MS = intFlag(values, 'long-ms');
const BACKLOG = intFlag(values, 'backlog');
const SAMPLES = intFlag(values, 'samples');
const URGENT_MS = intFlag(values, 'urgent-ms');
const TOTAL_GPUS = TRACKERS * GPUS;
if (TRACKERS < 1 || GPUS < 1 || SAMPLES < 1) throw new Error('--trackers, --gpus and --samples must be ≥ 1');
// Each urgent task must find only long tasks and earlier urgent ones on the GPUs: with more samples
// than GPUs, one would wait for an urgent task (not preemptible) to end.
if (SAMPLES > TOTAL_GPUS) throw new Error(`--samples must be ≤ the GPUs (${TOTAL_GPUS})`);
// An urgent task still running when the next is submitted makes that one preempt too (1 s: well
// above a preemption's few ms); a long task ending within the run would free a GPU on its own.
if (URGENT_MS < 100) throw new Error('--urgent-ms must be ≥ 100');
if (LONG_MS < 10_000) throw new Error('--long-ms must be ≥ 10000 (the run must end before the long tasks)');
const LONG_PRIORITY = 300;
const URGENT_PRIORITY = 900;
/** Not preemptible: how long each urgent task is watched (a preemption takes milliseconds). */
const HOLD_MS = 2000;

exitIfDryRun(values, 'preemption');

const ROWS = [
  { name: 'preemptible', preemptible: true },
  { name: 'not preemptible (today)', preemptible: false },
] as const;

async function main(): Promise<void> {
  progress(
    `${TRACKERS} × ${GPUS} GPUs full of ${fmt(LONG_MS / 1000, 0)} s tasks (priority ${LONG_PRIORITY}) + ${BACKLOG} ` +
      `waiting; ${SAMPLES} urgent ${URGENT_MS} ms tasks at priority ${URGENT_PRIORITY}; grace ${GRACE_MS} ms`,
  );
  const server = await startRedis();
  try {
    const redis = server.client();
    try {
      const info = await runInfo(redis);
      const runs: Array<{ name: string; preemptible: boolean; wallMs: number } & PreemptionRun> = [];
      for (const [i, row] of ROWS.entries()) {
        const began = Date.now();
        const run = await runPreemption({
          redis,
          redisUrl: server.url,
          prefix: `preempt${process.pid}r${i}`,
          trackers: TRACKERS,
          gpusPerTracker: GPUS,
          preemptible: row.preemptible,
          longMs: LONG_MS,
          longPriority: LONG_PRIORITY,
          backlog: BACKLOG,
          graceMs: GRACE_MS,
          samples: SAMPLES,
          urgentMs: URGENT_MS,
          urgentPriority: URGENT_PRIORITY,
          holdMs: HOLD_MS,
          timeoutMs: 60_000,
        });
        runs.push({ ...row, ...run, wallMs: Date.now() - began });
        progress(
          `${row.name}: ${run.checks.preemptions} preemptions, ${fmt((Date.now() - began) / 1000, 1)} s` +
            (run.startedInHold ? `; ${run.startedInHold} urgent tasks started during the hold` : ''),
        );
      }
      const [pre, non] = runs as [(typeof runs)[0], (typeof runs)[0]];
      const p50 = (xs: Array<number | null>): number =>
        quantile(
          xs.filter((x): x is number => x !== null),
          0.5,
        );
      const ratio =
        p50(non.samples.map((s) => s.withoutPreemptionMs)) / p50(pre.samples.map((s) => s.waitMs));
      progress(`wait p50: not preemptible / preemptible = ${fmt(ratio, 0)} ×`);
      printTable(pre.samples, non.samples);
      printChecks(runs);
      await writeResult('preemption', info, {
        trackers: TRACKERS,
        gpusPerTracker: GPUS,
        graceMs: GRACE_MS,
        longMs: LONG_MS,
        longPriority: LONG_PRIORITY,
        backlog: BACKLOG,
        samples: SAMPLES,
        urgentMs: URGENT_MS,
        urgentPriority: URGENT_PRIORITY,
        holdMs: HOLD_MS,
        waitRatioP50: ratio,
        runs,
      });
      const problems = runs.flatMap((r) => r.checks.problems.map((p) => `${r.name}: ${p}`));
      for (const p of problems) progress(`CHECK FAILED ${p}`);
      if (problems.length > 0) process.exitCode = 1;
    } finally {
      await redis.quit();
    }
  } finally {
    await server.stop();
  }
}

function printTable(pre: readonly PreemptionSample[], non: readonly PreemptionSample[]): void {
  const cols = {
    wait: 'preemptible: wait ms',
    decision: 'submit → preempting ms',
    stop: 'preempting → victim exited ms',
    restart: 'victim exited → start ms',
    back: 'victim back in line → ran again ms',
    non: 'not preemptible: wait s (computed)',
  };
  const cells = (
    p: PreemptionSample | undefined,
    n: PreemptionSample | undefined,
  ): Record<string, string> => ({
    [cols.wait]: fmt(p?.waitMs, 0),
    [cols.decision]: fmt(p?.decisionMs, 0),
    [cols.stop]: fmt(p?.stopMs, 0),
    [cols.restart]: fmt(p?.restartMs, 0),
    [cols.back]: fmt(p?.victimBackMs, 0),
    [cols.non]: fmt(n ? n.withoutPreemptionMs / 1000 : null, 2),
  });
  // A row of one statistic over the samples of each column.
  const stat = (q: (v: number[]) => number): Record<string, string> => {
    const of = (xs: Array<number | null>): number => q(xs.filter((x): x is number => x !== null));
    return {
      [cols.wait]: fmt(of(pre.map((s) => s.waitMs)), 0),
      [cols.decision]: fmt(of(pre.map((s) => s.decisionMs)), 0),
      [cols.stop]: fmt(of(pre.map((s) => s.stopMs)), 0),
      [cols.restart]: fmt(of(pre.map((s) => s.restartMs)), 0),
      [cols.back]: fmt(of(pre.map((s) => s.victimBackMs)), 0),
      [cols.non]: fmt(of(non.map((s) => s.withoutPreemptionMs)) / 1000, 2),
    };
  };
  console.table({
    ...Object.fromEntries(pre.map((s, i) => [`sample ${i + 1}`, cells(s, non[i])])),
    p50: stat((v) => quantile(v, 0.5)),
    max: stat((v) => (v.length ? Math.max(...v) : NaN)),
  });
}

function printChecks(runs: ReadonlyArray<{ name: string; checks: RunChecks }>): void {
  console.table(
    Object.fromEntries(
      runs.map(({ name, checks: c }) => [
        name,
        {
          'preemptions (expected)': `${c.preemptions} (${c.expectedPreemptions})`,
          'victims requeued': `${c.victimsHandedBack} of ${c.victims}`,
          'victims ran again / still queued': `${c.victimsRanAgain} / ${c.victimsStillQueued}`,
          'fresh tasks started ahead of a victim': String(c.startedAheadOfVictims),
          'attempts counted': String(c.countedAttempts),
          'tasks at the end': Object.entries(c.endStatuses)
            .map(([status, n]) => `${n} ${status}`)
            .join(', '),
          problems: String(c.problems.length),
        },
      ]),
    ),
  );
}

await main();
