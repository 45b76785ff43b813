/**
 * Benchmarks that cannot rot (issue 17): every `bench*` script of the root package.json is run as a
 * real process at a tiny size (a few tasks, one round), and must exit 0 and print its results
 * table. Only that a table is printed is checked, never its figures. Each script starts its own
 * redis-server (testkit) and runs the built packages (npm test builds first); its results file goes
 * to a temporary folder (GPUFLEET_BENCH_RESULTS_DIR), not bench/results.
 * Run alone: npx tsc -b && npx vitest run bench/smoke.test.ts
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from '@gpufleet/testkit';

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
      tables: ['per task / before', 'take p99 ms', 'before wait sets (20ace34)'],
      result: 'take-cost',
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
          if (smoke.result) expect(readFileSync(`${dir}/${smoke.result}.json`, 'utf8')).toContain('"result"');
        });
  });
});
