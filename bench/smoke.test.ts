/**
 * Benchmarks that cannot rot (issue 17): every `bench*` script of the root package.json is run as a
 * real process at a tiny size (a few tasks, one round), and must exit 0 and print its results
 * table. Most cases check only that a table is printed; a case with `figures` also checks that its
 * results file's figures are sane (bounds so loose that only a broken run fails them, since the
 * suite runs beside other work). Each script starts its own
 * redis-server (testkit) and runs the built packages (npm test builds first); its results file goes
 * to a temporary folder (GPUFLEET_BENCH_RESULTS_DIR), not bench/results.
 * Run alone: npx tsc -b && npx vitest run bench/smoke.test.ts
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from '@gpufleet/testkit';
import { dashboardFigures } from './lib/dashboard-figures.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TSX = `${ROOT}node_modules/.bin/tsx`;

interface Smoke {
  /** A name for the case, when a script has more than one. */
  label?: string;
  args: string[];
  /** Column or row headings of the tables the script prints on stdout. */
  tables: string[];
  /** The results file it writes (`<name>.json`), if it writes one. */
  result?: string;
  /** Checks the parsed results file's `result` (with expect); needs `result`. */
  figures?: (result: unknown) => void;
}

/** What bench:preemption's figures check reads of its results file (bench/compare-preemption.ts). */
interface PreemptionResult {
  graceMs: number;
  longMs: number;
  samples: number;
  runs: Array<{
    preemptible: boolean;
    checks: { preemptions: number; victimsHandedBack: number; problems: string[] };
    samples: Array<{
      waitMs: number | null;
      decisionMs: number | null;
      stopMs: number | null;
      withoutPreemptionMs: number;
    }>;
  }>;
}

/**
 * bench:preemption: one preemption per urgent task, each victim requeued; each urgent task started
 * within the grace (its victim, `sleep`, exits on SIGTERM: the grace is never waited out) and far
 * sooner than the first long task ends; none preempted for without preemptible tasks, whose
 * computed wait is the rest of a long task.
 */
function preemptionFigures(raw: unknown): void {
  const r = raw as PreemptionResult;
  const [pre, non] = r.runs;
  expect(pre?.preemptible).toBe(true);
  expect(non?.preemptible).toBe(false);
  for (const run of [pre, non]) expect(run?.checks.problems).toEqual([]);
  expect(pre?.checks.preemptions).toBe(r.samples);
  expect(pre?.checks.victimsHandedBack).toBe(r.samples);
  expect(non?.checks.preemptions).toBe(0);
  for (const s of pre?.samples ?? []) {
    expect(s.waitMs).not.toBeNull();
    expect(s.decisionMs).toBeGreaterThanOrEqual(0);
    expect(s.stopMs).toBeGreaterThanOrEqual(0);
    expect(s.waitMs).toBeGreaterThanOrEqual((s.decisionMs ?? 0) + (s.stopMs ?? 0));
    expect(s.waitMs).toBeLessThan(r.graceMs);
  }
  for (const s of non?.samples ?? []) {
    expect(s.withoutPreemptionMs).toBeGreaterThan(r.longMs / 2);
    expect(s.withoutPreemptionMs).toBeLessThanOrEqual(r.longMs + 1000);
  }
}

/**
 * bench:retention: after each phase's window Redis is back within 10 % of its idle baseline (the
 * soak's goal; at this size a leak of a few hundred bytes a task shows), every task archived, and
 * the bytes per task ordered as what a task holds grows and shrinks.
 */
function retentionFigures(raw: unknown): void {
  const r = raw as {
    bytes: { waiting: number; running: number; finished: number; retained: number };
    phases: Array<{ afterWindowVsBaseline: number }>;
    cleanup: { archived: number };
  };
  expect(r.phases.length).toBe(2);
  for (const phase of r.phases) expect(phase.afterWindowVsBaseline).toBeLessThanOrEqual(1.1);
  expect(r.bytes.waiting).toBeGreaterThan(0);
  expect(r.bytes.running).toBeGreaterThan(r.bytes.waiting);
  expect(r.bytes.finished).toBeGreaterThan(r.bytes.retained);
  expect(r.cleanup.archived).toBe(300);
}

/** The tiny run(s) of each `bench*` script, by script name. */
const SMOKES: Record<string, Smoke[]> = {
  bench: [
    {
      args: ['--tasks', '20', '--rounds', '1', '--samples', '5', '--warm-up', '2', '--backlog', '30'],
      tables: ['gpufleet (tasks/s)', 'enqueue→spawn p50 ms', 'exit→next spawn p50 ms'],
    },
  ],
  'bench:throughput': [
    {
      args: ['--tasks', '20', '--rounds', '1'],
      tables: ['tasks/s (median)', 'a/b (gpufleet / BullMQ)'],
      result: 'throughput',
    },
  ],
  'bench:latency': [
    {
      args: ['--samples', '3', '--warm-up', '1'],
      tables: ['enqueue → spawn p50 ms'],
      result: 'latency',
    },
  ],
  // Both scenarios at the tightest settings (at the defaults BullMQ takes 30–90 s a round), run
  // side by side: the backlog one first waits several seconds for Redis's age.
  'bench:recovery': [
    {
      label: 'one job',
      args: [
        ...['--scenario', 'single', '--rounds', '1', '--only', 'tight', '--job-s', '1'],
        ...['--kill-after-ms', '300', '--lease-ms', '1000', '--alive-ms', '500', '--sweep-ms', '200'],
        ...['--lock-ms', '1000', '--stalled-ms', '300'],
      ],
      tables: ['kill → restart s (median)'],
      result: 'recovery',
    },
    {
      label: 'backlog',
      args: [
        ...['--scenario', 'backlog', '--tasks', '8', '--rounds', '1', '--only', 'tight'],
        ...['--lease-ms', '1000', '--alive-ms', '500', '--sweep-ms', '200'],
        ...['--lock-ms', '1000', '--stalled-ms', '300'],
      ],
      tables: ['kill → every orphan restarted s', 'makespan s'],
      result: 'recovery',
    },
  ],
  'bench:cancel': [
    {
      args: ['--rounds', '1', '--watch-ms', '1000', '--grace-ms', '200', '--modes', 'single'],
      tables: ['request → whole tree gone ms'],
      result: 'cancel',
    },
  ],
  'bench:memory': [
    {
      args: ['--tasks', '10', '--warm-up', '2', '--idle-ms', '100'],
      tables: ['idle after warm-up MiB', 'gpufleet tracker (bin)', 'BullMQ worker (tsx)'],
      result: 'memory',
    },
  ],
  'bench:profile': [
    {
      args: [
        ...['--tasks', '15', '--ablation-tasks', '10', '--rounds', '1'],
        ...['--variants', 'as shipped', '--cpu-profile'],
      ],
      // ablation, costs, CPU profile, timeline
      tables: ['overhead ms/task', 'programs CPU ms/task', 'self ms/task', 'share of mean cycle'],
      result: 'profile',
    },
  ],
  // 2 trackers × 2 GPUs, 6 tasks of 0.1–1 s: about 6 s, most of it starting the trackers.
  'bench:scheduling': [
    {
      args: ['--tasks', '6', '--trackers', '2', '--gpus', '2', '--scale', '0.2'],
      tables: [
        'makespan / bound',
        'utilisation: busy GPU-s / (GPUs × makespan)',
        'simulated EASY backfill (limit)',
      ],
      result: 'scheduling',
    },
  ],
  // 2 trackers × 4 GPUs, three runs of 48 tasks of 0.1–0.3 s: 14–27 s, most of it starting the
  // trackers (three times).
  'bench:fairness': [
    {
      args: ['--a-tasks', '40', '--b-tasks', '8', '--b-after-ms', '2000', '--scale', '0.2'],
      tables: ['oldest-first (today)', 'fair share 3:1', 'B: GPU share % (target)', 'B − target pp'],
      result: 'fairness',
    },
  ],
  // 2 trackers × 4 GPUs, 200 backlog tasks of 0.09–0.24 s, 2 samples: about 12 s.
  'bench:priority': [
    {
      args: ['--backlog', '200', '--samples', '2', '--scale', '0.3'],
      tables: ['start − next free slot ms (goal ≤ 100)', 'oldest-first (today): tasks ahead', 'p50'],
      result: 'priority',
    },
  ],
  'bench:take-cost': [
    {
      args: ['--depth', '300', '--tenants', '3', '--takes', '50', '--rounds', '1'],
      tables: ['CPU / before, rounds', 'script / before', 'take p99 ms', 'before wait sets (20ace34)'],
      result: 'take-cost',
    },
  ],
  // Two phases of 200 no-op tasks kept 0.5 s, and 300 archived for the clean-up's cost: about 15 s.
  'bench:retention': [
    {
      args: [
        ...['--tasks', '200', '--phases', '2', '--retention-ms', '500', '--sweep-ms', '200'],
        ...['--bytes-tasks', '200', '--cleanup-tasks', '300', '--reads', '50', '--settle-ms', '20000'],
      ],
      tables: ['Redis bytes per task', 'after / baseline (goal ≤ 1.10)', 'archived read p50 ms (goal ≤ 20)'],
      result: 'retention',
      figures: retentionFigures,
    },
  ],
  // 1 tracker × 2 GPUs, 6 long tasks of 20 s, 2 urgent tasks, a 2 s grace: two runs of about 3 and
  // 5 s (the second watches each urgent task wait for 2 s), the long tasks handed back at the end.
  'bench:preemption': [
    {
      args: [
        ...['--trackers', '1', '--gpus', '2', '--backlog', '4', '--samples', '2'],
        ...['--long-ms', '20000', '--grace-ms', '2000'],
      ],
      tables: ['preemptible: wait ms', 'not preemptible: wait s (computed)', 'preemptions (expected)'],
      result: 'preemption',
      figures: preemptionFigures,
    },
  ],
  // 2 trackers × 2 GPUs, 20 tasks waiting, 10 tasks/s, one paint round and one round of three 2 s
  // CPU phases: about 25 s, most of it starting the API and Chromium and opening pages.
  'bench:dashboard': [
    {
      args: [
        ...['--trackers', '2', '--gpus', '2', '--waiting', '20'],
        ...['--rate', '10', '--seconds', '2', '--rounds', '1'],
      ],
      tables: ['gzip kB', 'grid in the DOM ms', 'API CPU % of a core'],
      result: 'dashboard',
      figures: dashboardFigures,
    },
  ],
  // One SLURM cluster (testkit's: slurmctld, slurmd, munged, 4 fake GPUs): 2 samples of each submit
  // → start path (about 1, 3, 3 and 0.1 s) and 4 tasks of 0.1–1 s through SLURM's scheduler and
  // through a pilot: about 40 s. Where SLURM cannot run (not root, no packages) the bench measures
  // nothing and says why: then that line and the reason in its results file are what is checked.
  'bench:slurm': [
    {
      args: ['--samples', '2', '--warm-up', '0', '--tasks', '4', '--scale', '0.2'],
      tables: (await (await import('@gpufleet/testkit')).slurmUnavailable())
        ? ['bench slurm: nothing measured']
        : ['p50 / sbatch alone', 'gpufleet pilot (tracker in a SLURM job)', 'utilisation / SLURM'],
      result: 'slurm',
      figures: (await import('./lib/slurm-figures.js')).slurmFigures,
    },
  ],
};

/** The root package.json's `bench*` scripts and the file each runs with tsx. */
function benchScripts(): Map<string, string> {
  const { scripts } = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {
    scripts: Record<string, string>;
  };
  const found = new Map<string, string>();
  for (const [name, command] of Object.entries(scripts)) {
    if (name !== 'bench' && !name.startsWith('bench:')) continue;
    const file = /\btsx\s+(bench\/\S+\.ts)/.exec(command)?.[1];
    if (!file) throw new Error(`package.json script ${name} does not run a bench/*.ts file with tsx`);
    found.set(name, file);
  }
  return found;
}

const scripts = benchScripts();

describe('bench scripts', () => {
  it('each has a smoke case, and each smoke case a script', () => {
    expect([...scripts.keys()].sort()).toEqual(Object.keys(SMOKES).sort());
  });

  // One at a time: the rest of the suite runs beside this file, and some of it measures time.
  describe('run at a tiny size and print their tables', () => {
    let results: string;
    beforeAll(async () => {
      results = await makeTempDir('gpufleet-bench-smoke-');
    });
    afterAll(async () => {
      await removeDir(results);
    });

    for (const [name, file] of scripts)
      for (const smoke of SMOKES[name] ?? [])
        it(smoke.label ? `${name} (${smoke.label})` : name, { timeout: 120_000 }, async () => {
          // Each case its own folder: two runs of one script must not share a results file.
          const dir = `${results}/${name.replace(':', '-')}-${smoke.label ?? 'run'}`.replace(/ /g, '-');
          const run = await execa(TSX, [file, ...smoke.args], {
            cwd: ROOT,
            reject: false,
            all: true,
            timeout: 110_000,
            env: { GPUFLEET_BENCH_RESULTS_DIR: dir },
          });
          expect(run.exitCode, `${name} ${smoke.args.join(' ')}:\n${run.all}`).toBe(0);
          for (const heading of smoke.tables) expect(run.stdout).toContain(heading);
          if (!smoke.result) return;
          const text = readFileSync(`${dir}/${smoke.result}.json`, 'utf8');
          expect(text).toContain('"result"');
          smoke.figures?.((JSON.parse(text) as { result: unknown }).result);
        });
  });
});
