/**
 * Fair share between tenants (the scheduling issue): does a small tenant that arrives late get its
 * share of a busy fleet? `--trackers` real gpufleet-tracker processes × `--gpus` declared GPUs
 * each (no real GPUs: GPUFLEET_GPUS; bench/lib/tracker-fleet.ts) run 1-GPU `sleep` tasks of a
 * seeded 0.5–1.5 s (times `--scale`). Tenant A queues `--a-tasks` at t = 0, tenant B `--b-tasks`
 * `--b-after-ms` later (times `--scale`). The same trace runs three times, one row each:
 * "oldest-first (today)", both enqueued as one tenant (the order before fair share); fair share
 * with weights A:B = 1:1; and with A:B = 3:1 (the big tenant weighted up: B's target is 25 %).
 * The fair-share half-life is `--half-life-ms` (times `--scale`; default 2 s): usage decays by
 * half every half-life, and a tenant that arrives after another used the fleet first gets more
 * than its weight until the decayed usages even out. Shares approach the weights only when the
 * half-life is short beside the contended period, which here lasts seconds (a fleet uses hours
 * against days of contention); a longer value shows the catch-up.
 * Per run (bench/lib/fairness-figures.ts, times from the trackers' `spawned` / `exited` /
 * `completed` log lines and the records' `createdAt`): B's first task's delay after the next free
 * slot (its start − the first exit at or after B's first submission) and its wait; the contended
 * period, from B's first submission until one tenant has nothing left waiting (its last task
 * started); each tenant's share of the busy GPU-time inside it against its target (weight / total
 * weight) and B's deviation in percentage points; the makespan.
 * Usage: npm run bench:fairness -- [--dry-run] [--trackers 2] [--gpus 4] [--a-tasks 500]
 *   [--b-tasks 50] [--b-after-ms 20000] [--half-life-ms 2000] [--seed 1] [--scale 1]
 * Tiny size: --a-tasks 60 --b-tasks 10 --b-after-ms 2000 --scale 0.3. Writes bench/results/fairness.json.
 */
import { parseArgs } from 'node:util';
import { startRedis } from '@gpufleet/testkit';
import { fairnessFigures, type FairnessFigures, type TenantLabel } from './lib/fairness-figures.js';
import { fairnessTrace, runFairness } from './lib/fairness-run.js';
import { exitIfDryRun, intFlag, progress, runInfo, writeResult } from './lib/report.js';
import { fmt } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    trackers: { type: 'string', default: '2' },
    gpus: { type: 'string', default: '4' },
    'a-tasks': { type: 'string', default: '500' },
    'b-tasks': { type: 'string', default: '50' },
    'b-after-ms': { type: 'string', default: '20000' },
    'half-life-ms': { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1' },
    scale: { type: 'string', default: '1' },
  },
});
const TRACKERS = intFlag(values, 'trackers');
const GPUS = intFlag(values, 'gpus');
const A_TASKS = intFlag(values, 'a-tasks');
const B_TASKS = intFlag(values, 'b-tasks');
const SEED = intFlag(values, 'seed');
const SCALE = Number(values.scale);
if (!(SCALE > 0)) throw new Error(`--scale must be a number > 0 (got ${values.scale})`);
if (TRACKERS < 1 || GPUS < 1 || A_TASKS < 1 || B_TASKS < 1)
  throw new Error('--trackers, --gpus, --a-tasks and --b-tasks must be ≥ 1');
const B_AFTER_MS = Math.round(intFlag(values, 'b-after-ms') * SCALE);
const HALF_LIFE_MS = Math.round(intFlag(values, 'half-life-ms') * SCALE);
if (HALF_LIFE_MS < 1) throw new Error('--half-life-ms × --scale must be ≥ 1 ms');
const TOTAL_GPUS = TRACKERS * GPUS;

exitIfDryRun(values, 'fairness');

/** The three runs, in table order: weights A:B, or null for one tenant. */
const POLICIES: Array<{ name: string; weights: Record<TenantLabel, number> | null }> = [
  { name: 'oldest-first (today)', weights: null },
  { name: 'fair share 1:1', weights: { A: 1, B: 1 } },
  { name: 'fair share 3:1', weights: { A: 3, B: 1 } },
];

async function main(): Promise<void> {
  const trace = fairnessTrace(A_TASKS, B_TASKS, SEED, SCALE);
  const gpuMs = [...trace.A, ...trace.B].reduce((a, b) => a + b, 0);
  progress(
    `trace (seed ${SEED}): A ${A_TASKS} tasks at 0, B ${B_TASKS} tasks at ${fmt(B_AFTER_MS / 1000, 1)} s; ` +
      `${fmt(gpuMs / 1000, 1)} GPU-s on ${TRACKERS} × ${GPUS} GPUs (≥ ${fmt(gpuMs / TOTAL_GPUS / 1000, 1)} s a run); ` +
      `half-life ${fmt(HALF_LIFE_MS / 1000, 2)} s`,
  );
  const server = await startRedis();
  try {
    const redis = server.client();
    try {
      const info = await runInfo(redis);
      const runs: Array<{
        name: string;
        weights: Record<TenantLabel, number> | null;
        figures: FairnessFigures;
      }> = [];
      const raw = [];
      for (const [i, policy] of POLICIES.entries()) {
        const run = await runFairness({
          redis,
          redisUrl: server.url,
          prefix: `fair${process.pid}r${i}`,
          trackers: TRACKERS,
          gpusPerTracker: GPUS,
          trace,
          bAfterMs: B_AFTER_MS,
          weights: policy.weights,
          halfLifeMs: HALF_LIFE_MS,
          timeoutMs: Math.max(60_000, B_AFTER_MS + (3 * gpuMs) / TOTAL_GPUS + 30_000),
        });
        const figures = fairnessFigures(run.tasks, policy.weights);
        progress(
          `${policy.name}: makespan ${fmt(figures.makespanMs / 1000, 2)} s, B's share ${fmt(figures.share.B * 100)} %` +
            (run.rerun ? `; ${run.rerun} tasks ran more than once` : ''),
        );
        runs.push({ ...policy, figures });
        raw.push({ ...policy, rerun: run.rerun, figures, tasks: run.tasks });
      }
      printTable(runs);
      await writeResult('fairness', info, {
        trackers: TRACKERS,
        gpusPerTracker: GPUS,
        aTasks: A_TASKS,
        bTasks: B_TASKS,
        bAfterMs: B_AFTER_MS,
        halfLifeMs: HALF_LIFE_MS,
        seed: SEED,
        scale: SCALE,
        runs: raw,
      });
    } finally {
      await redis.quit();
    }
  } finally {
    await server.stop();
  }
}

function printTable(
  runs: Array<{ name: string; weights: Record<TenantLabel, number> | null; figures: FairnessFigures }>,
): void {
  const pct = (share: number, target: number): string => `${fmt(share * 100)} (${fmt(target * 100)})`;
  console.table(
    Object.fromEntries(
      runs.map(({ name, weights, figures: f }) => [
        name,
        {
          'weights A:B': weights ? `${weights.A}:${weights.B}` : 'one tenant',
          'half-life s': weights ? fmt(HALF_LIFE_MS / 1000, 2) : '—',
          "B's 1st task: start − next free slot ms": `${fmt(f.bFirstDelayMs, 0)}${f.bFirstIdleGpu ? ' (idle GPU)' : ''}`,
          "B's 1st task: wait s": fmt(f.bFirstWaitMs / 1000, 2),
          'contended s (ended by)': `${fmt(f.contended.lengthMs / 1000, 2)} (${f.contended.endedBy})`,
          'A: GPU share % (target)': pct(f.share.A, f.target.A),
          'B: GPU share % (target)': pct(f.share.B, f.target.B),
          'B − target pp': fmt(f.deviationPp),
          'makespan s': fmt(f.makespanMs / 1000, 2),
        },
      ]),
    ),
  );
}

await main();
