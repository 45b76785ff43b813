/**
 * Where the time of one gpufleet task goes (issue 8: "profile it"), measured from outside the
 * packages (nothing in src changes):
 * 1. timeline: a tracker with ONE slot runs a backlog of no-op tasks one after another, with
 *    Redis commands, fs calls, spawn and store puts timed (bench/lib/instrument.ts); each task's
 *    cycle (take → next take) is cut into phases, and each operation is counted per task;
 * 2. ablation: a tracker with C slots runs the backlog as shipped and without one piece of work
 *    at a time (bench/lib/ablation.ts), next to a plain spawn loop; rounds alternate; we report
 *    tasks/s, per-task overhead over the plain loop and CPU per task (tracker, programs, Redis);
 * 3. costs: each piece of a task's local work (folder, pid record, outputs, spawn) run alone, C at
 *    a time, with its CPU per task (bench/lib/micro-costs.ts);
 * 4. CPU profile (--cpu-profile): the as-shipped run, logging at info, under the V8 profiler;
 *    the tracker thread's time by package and the top functions.
 * Usage: npm run bench:profile -- [--dry-run] [--tasks 300] [--ablation-tasks 1000] [--rounds 5]
 *   [--concurrency 4] [--cpu-profile] [--skip timeline,ablation,costs]
 *   [--variants 'as shipped,ARTIFACT_FSYNC=false'] (ablation variants to run; default all)
 * Tiny size (the smoke test): --tasks 15 --ablation-tasks 10 --rounds 1 --variants 'as shipped'
 *   --cpu-profile
 * Writes bench/results/profile.json (and profile.cpuprofile, for Chrome DevTools).
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { LocalArtifactStore } from '@gpufleet/core';
import { startRedis, type RedisServer } from '@gpufleet/testkit';
import type { Tracker } from '@gpufleet/tracker';
import { infoLogger, VARIANTS } from './lib/ablation.js';
import { startCpuProfile, summarizeProfile, type ProfileSummary } from './lib/cpu-profile.js';
import { runBacklog, type BacklogRun } from './lib/gpufleet.js';
import { install, mark, record, spans, timedStore } from './lib/instrument.js';
import { plainLoop } from './lib/plain.js';
import { exitIfDryRun, intFlag, progress, RESULTS, runInfo, writeResult } from './lib/report.js';
import { fmt, median } from './lib/stats.js';
import { phasesOf, type Timeline } from './lib/timeline.js';
import { cpuDelta, cpuSample } from './lib/cpu.js';
import { microCosts, type Cost } from './lib/micro-costs.js';

const { values } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    tasks: { type: 'string', default: '300' },
    'ablation-tasks': { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '4' },
    'cpu-profile': { type: 'boolean', default: false },
    skip: { type: 'string', default: '' },
    variants: { type: 'string' },
  },
});
const TASKS = intFlag(values, 'tasks');
const ABLATION_TASKS = intFlag(values, 'ablation-tasks');
const ROUNDS = intFlag(values, 'rounds');
const C = intFlag(values, 'concurrency');
const skip = new Set((values.skip ?? '').split(','));
const chosen = values.variants?.split(',').map((v) => v.trim());
const variants = VARIANTS.filter((v) => !chosen || chosen.includes(v.name));

async function timeline(server: RedisServer): Promise<Timeline> {
  await install();
  progress(`timeline: ${TASKS} tasks on one slot`);
  const options = {
    cpuSlots: 1,
    logger: infoLogger(),
    store: (root: string) => timedStore(new LocalArtifactStore(root)),
    onTracker: (t: Tracker) => t.on('task', (event) => mark(`task ${event.type}`, event.at)),
  };
  await runBacklog(server, TASKS, options, async (run) => {
    record(true);
    await run();
    record(false);
  });
  const result = phasesOf(spans, 10);
  const ms = (x: number): string => fmt(x, 2);
  console.table(
    Object.fromEntries(
      result.phases.map((p) => [
        p.phase,
        { 'p50 ms': ms(p.p50), 'mean ms': ms(p.mean), 'share of mean cycle': `${fmt(p.share * 100, 0)} %` },
      ]),
    ),
  );
  console.table(
    Object.fromEntries(
      result.operations
        .filter((o) => o.perTask >= 0.5)
        .map((o) => [
          o.what,
          {
            'calls/task': fmt(o.perTask, 1),
            'p50 ms': ms(o.p50),
            'ms/task (sum, overlapping)': ms(o.msPerTask),
          },
        ]),
    ),
  );
  return result;
}

interface Ablated {
  name: string;
  removes: string;
  tasksPerSecond: number;
  overheadMs: number;
  cpuMsPerTask: { tracker: number; trackerSys: number; programs: number; redis: number };
}

async function ablation(server: RedisServer): Promise<Ablated[]> {
  const runs = new Map<string, BacklogRun[]>([
    ['plain loop', []],
    ...variants.map((v) => [v.name, []] as [string, BacklogRun[]]),
  ]);
  const plain = async (): Promise<BacklogRun> => {
    await plainLoop(20, C, ['true']);
    const before = cpuSample(server.pid);
    const tasksPerSecond = await plainLoop(ABLATION_TASKS, C, ['true']);
    return { tasksPerSecond, cpu: cpuDelta(before, cpuSample(server.pid)) };
  };
  const jobs = [
    { name: 'plain loop', run: plain },
    ...variants.map((v) => ({
      name: v.name,
      run: () => runBacklog(server, ABLATION_TASKS, { cpuSlots: C, ...v.options }),
    })),
  ];
  for (let r = 0; r < ROUNDS; r++) {
    for (const job of r % 2 === 0 ? jobs : [...jobs].reverse()) {
      const run = await job.run();
      runs.get(job.name)?.push(run);
      progress(`ablation round ${r + 1}/${ROUNDS}: ${job.name} ${fmt(run.tasksPerSecond, 0)} tasks/s`);
    }
  }
  const tps = (name: string): number => median((runs.get(name) ?? []).map((x) => x.tasksPerSecond));
  const cpu = (name: string, k: keyof BacklogRun['cpu']): number =>
    median((runs.get(name) ?? []).map((x) => x.cpu[k] / ABLATION_TASKS));
  const rows: Ablated[] = [
    { name: 'plain loop', removes: 'the reference: execa, C at a time' },
    ...variants,
  ].map((v) => ({
    name: v.name,
    removes: v.removes,
    tasksPerSecond: tps(v.name),
    overheadMs: 1000 / tps(v.name) - 1000 / tps('plain loop'),
    cpuMsPerTask: {
      tracker: cpu(v.name, 'selfMs'),
      trackerSys: cpu(v.name, 'selfSysMs'),
      programs: cpu(v.name, 'childrenMs'),
      redis: cpu(v.name, 'otherMs'),
    },
  }));
  console.table(
    Object.fromEntries(
      rows.map((r) => [
        r.name,
        {
          'tasks/s': fmt(r.tasksPerSecond, 0),
          'overhead ms/task': fmt(r.overheadMs, 2),
          'CPU ms/task: tracker': fmt(r.cpuMsPerTask.tracker, 2),
          'of it kernel': fmt(r.cpuMsPerTask.trackerSys, 2),
          programs: fmt(r.cpuMsPerTask.programs, 2),
          redis: fmt(r.cpuMsPerTask.redis, 2),
        },
      ]),
    ),
  );
  return rows;
}

async function costs(): Promise<Cost[]> {
  progress(`costs: each piece ${ABLATION_TASKS} times, ${C} at a time`);
  const rows = await microCosts(ABLATION_TASKS, C);
  console.table(
    Object.fromEntries(
      rows.map((r) => [
        r.piece,
        {
          'CPU ms/task': fmt(r.cpuMsPerTask, 3),
          'programs CPU ms/task': fmt(r.programsCpuMsPerTask, 3),
          'wall p50 ms': fmt(r.wallP50Ms, 2),
        },
      ]),
    ),
  );
  return rows;
}

async function cpuProfile(server: RedisServer): Promise<ProfileSummary> {
  progress(`CPU profile: ${ABLATION_TASKS} tasks on ${C} slots, logging at info`);
  let summary: ProfileSummary | undefined;
  await runBacklog(server, ABLATION_TASKS, { cpuSlots: C, logger: infoLogger() }, async (run) => {
    const stop = await startCpuProfile();
    await run();
    const profile = await stop();
    await writeFile(`${RESULTS}profile.cpuprofile`, JSON.stringify(profile));
    summary = summarizeProfile(profile);
  });
  if (!summary) throw new Error('no profile');
  const s = summary;
  const per = (ms: number): string => fmt(ms / ABLATION_TASKS, 3);
  const busy = Object.entries(s.selfMs)
    .filter(([k]) => !k.startsWith('idle'))
    .sort((a, b) => b[1] - a[1]);
  console.table(
    Object.fromEntries(
      busy.map(([k, ms]) => [k, { 'self ms/task': per(ms), 'on stack ms/task': per(s.onStackMs[k] ?? 0) }]),
    ),
  );
  console.table(s.topFunctions.slice(0, 15).map((f) => ({ function: f.fn, 'self ms/task': per(f.selfMs) })));
  return s;
}

exitIfDryRun(values, 'profile');

async function main(): Promise<void> {
  const server = await startRedis();
  try {
    const info = await runInfo(server.client());
    const result: Record<string, unknown> = {
      tasks: TASKS,
      ablationTasks: ABLATION_TASKS,
      rounds: ROUNDS,
      concurrency: C,
    };
    await writeResult('profile', info, result); // creates bench/results for the profile file
    if (!skip.has('ablation')) result.ablation = await ablation(server);
    if (!skip.has('costs')) result.costs = await costs();
    if (values['cpu-profile']) result.cpuProfile = await cpuProfile(server);
    if (!skip.has('timeline')) result.timeline = await timeline(server); // last: it patches builtins
    await writeResult('profile', info, result);
  } finally {
    await server.stop();
  }
}

await main();
