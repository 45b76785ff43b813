/**
 * gpufleet on a real SLURM cluster beside SLURM alone (issue 23), on one cluster the bench starts:
 * testkit's startSlurmCluster (Slurm's slurmctld, slurmd and munged as child processes; one node,
 * `--gpus` fake GPUs in gres.conf; sched/backfill with `--sched-params` as SchedulerParameters; every
 * job in a partition whose jobs may share CPU cores, never GPUs: bench/lib/slurm-setup.ts). Every
 * path runs the same program, which stamps its start as its first act (bench/lib/slurm-stamp.ts).
 *
 * 1. Submit → start of a one-GPU task on the idle cluster, `--samples` times each after `--warm-up`
 *    unrecorded ones, one at a time, each after a random pause of 0 to `--jitter-ms` (so that no
 *    path keeps the same phase against SLURM's periodic scheduling passes) (bench/lib/slurm-latency.ts):
 *    `sbatch` alone; sbatch alone with `--export=NONE` (slurmd then loads the user's login
 *    environment first: the backend's job scripts had it before 3e434fc and use `--export=NIL`
 *    now, for this cost); gpufleet's backend shape (a gpufleet-tracker
 *    process with GPUFLEET_BACKEND=slurm fronting the partition: enqueue → its sbatch → the job
 *    starts) — these three in rounds, their order turning; then gpufleet's pilot shape
 *    (`gpufleet-slurm launch`: a tracker already running as a SLURM job on every GPU; enqueue → it
 *    starts the program). Medians, p90 and the ratios to sbatch alone.
 * 2. The scheduling issue's mixed trace (`--tasks` tasks of 1, 2 and 4 GPUs, 0.5–5 s × `--scale`,
 *    seed `--seed`) through SLURM's scheduler (each task an sbatch job) and then through the pilot
 *    (bench/lib/slurm-trace.ts): makespan, utilisation (busy GPU-s / (GPUs × makespan)), their
 *    ratios, beside the lower bound and the trace simulated with exact durations and no overhead
 *    (bench/lib/schedule-sim.ts), strictly oldest-first and with EASY backfill. SLURM's backfill
 *    judges by time limits, which it keeps in whole minutes: at this scale every task's is 1 min.
 *
 * Where SLURM cannot run here (not root, packages missing) it says why and exits 0, measuring nothing.
 * Usage: npm run bench:slurm -- [--dry-run] [--samples 20] [--warm-up 1] [--jitter-ms 1000]
 *   [--tasks 60] [--scale 1] [--seed 1] [--gpus 4] [--poll-ms 200]
 *   [--sched-params bf_interval=1,bf_resolution=1,batch_sched_delay=0]
 * Tiny size: --samples 2 --warm-up 0 --tasks 4 --scale 0.2. Writes bench/results/slurm.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  makeTempDir,
  removeDir,
  slurmUnavailable,
  startRedis,
  startSlurmCluster,
  type SlurmCluster,
} from '@gpufleet/testkit';
import { seededRandom } from './lib/prng.js';
import { exitIfDryRun, intFlag, progress, RESULTS, runInfo, writeResult } from './lib/report.js';
import { makespanBoundMs, scheduleFigures } from './lib/schedule-figures.js';
import { simulateSchedule, type SimPolicy } from './lib/schedule-sim.js';
import { makeTrace } from './lib/scheduling-trace.js';
import { fmt } from './lib/stats.js';
import { emptySamples, latencyFigures, sampleGpufleet, sampleSbatch } from './lib/slurm-latency.js';
import {
  benchSlurmConf,
  launchPilot,
  queuedJobs,
  schedulerSettings,
  startBackendTracker,
  waitForJobsGone,
  type GpufleetSide,
} from './lib/slurm-setup.js';
import { writeStampFiles } from './lib/slurm-stamp.js';
import { printLatency, printTrace, type LatencyPath, type TraceColumn } from './lib/slurm-tables.js';
import { runTraceOnGpufleet, runTraceOnSlurm, startFigures, type TraceRun } from './lib/slurm-trace.js';

const { values } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    samples: { type: 'string', default: '20' },
    'warm-up': { type: 'string', default: '1' },
    'jitter-ms': { type: 'string', default: '1000' },
    tasks: { type: 'string', default: '60' },
    scale: { type: 'string', default: '1' },
    seed: { type: 'string', default: '1' },
    gpus: { type: 'string', default: '4' },
    'poll-ms': { type: 'string', default: '200' },
    'sched-params': { type: 'string', default: 'bf_interval=1,bf_resolution=1,batch_sched_delay=0' },
  },
});
const SAMPLES = intFlag(values, 'samples');
const WARM_UP = intFlag(values, 'warm-up');
const JITTER_MS = intFlag(values, 'jitter-ms');
const TASKS = intFlag(values, 'tasks');
const SEED = intFlag(values, 'seed');
const GPUS = intFlag(values, 'gpus');
const POLL_MS = intFlag(values, 'poll-ms');
const SCALE = Number(values.scale);
const SCHED_PARAMS = values['sched-params'] ?? '';
if (!(SCALE > 0)) throw new Error(`--scale must be a number > 0 (got ${values.scale})`);
if (SAMPLES < 1 || TASKS < 1 || GPUS < 1) throw new Error('--samples, --tasks and --gpus must be ≥ 1');

exitIfDryRun(values, 'slurm');

/** Nothing measured: the reason, on stdout and as the results file (the smoke test reads both). */
async function reportUnavailable(why: string): Promise<void> {
  process.stdout.write(`bench slurm: nothing measured: ${why}\n`);
  await mkdir(RESULTS, { recursive: true });
  const body = { date: new Date().toISOString(), result: { unavailable: why } };
  await writeFile(`${RESULTS}slurm.json`, `${JSON.stringify(body, null, 2)}\n`);
}

const random = seededRandom(SEED);
/** A pause of 0 to --jitter-ms before each latency sample. */
const jitter = (): Promise<unknown> => delay(Math.floor(random() * JITTER_MS));

async function main(): Promise<void> {
  const why = await slurmUnavailable();
  if (why) return reportUnavailable(why);
  const trace = makeTrace({ tasks: TASKS, seed: SEED, maxGpus: GPUS, scale: SCALE });
  const boundMs = makespanBoundMs(trace, GPUS);
  const simulated = (policy: SimPolicy): TraceColumn => {
    const { placements } = simulateSchedule(trace, { trackers: 1, gpusPerTracker: GPUS }, policy);
    const times = placements.map((p, i) => ({ gpus: trace[i]?.gpus ?? 0, submitMs: 0, ...p }));
    return { figures: scheduleFigures(times, GPUS), submitSpanMs: null, starts: startFigures(times) };
  };
  const easy = simulated('easy-backfill');
  const oldestFirst = simulated('oldest-first');
  /** A measured run's column. */
  const measured = (run: TraceRun): TraceColumn => ({
    figures: scheduleFigures(run.tasks, GPUS),
    submitSpanMs: run.submitSpanMs,
    starts: startFigures(run.tasks),
    ...(run.startedBy && { startedBy: run.startedBy }),
  });
  const gpuSeconds = trace.reduce((sum, t) => sum + t.gpus * t.durationMs, 0) / 1000;
  progress(
    `trace (seed ${SEED}): ${TASKS} tasks, ${fmt(gpuSeconds, 1)} GPU-s on ${GPUS} GPUs; ` +
      `lower bound ${fmt(boundMs / 1000, 1)} s, simulated oldest-first ` +
      `${fmt(oldestFirst.figures.makespanMs / 1000, 1)} s, backfill ${fmt(easy.figures.makespanMs / 1000, 1)} s`,
  );

  const dir = await makeTempDir('gpufleet-bench-slurm-');
  const server = await startRedis();
  const redis = server.client();
  let slurm: SlurmCluster | undefined;
  try {
    const files = await writeStampFiles(dir);
    const info = await runInfo(redis);
    const started = Date.now();
    const cluster = await startSlurmCluster({ gpus: GPUS, extraConf: benchSlurmConf(SCHED_PARAMS) });
    slurm = cluster;
    const settings = await schedulerSettings(cluster);
    progress(`SLURM started in ${Date.now() - started} ms: ${JSON.stringify(settings)}`);
    const side = (prefix: string): GpufleetSide => ({
      redis,
      redisUrl: server.url,
      prefix: `${prefix}${process.pid}`,
      executers: files.executers,
      dir,
    });

    // 1. sbatch alone, with --export=NONE and through the backend, in rounds; then the pilot.
    const samples: Record<LatencyPath, ReturnType<typeof emptySamples>> = {
      sbatch: emptySamples(),
      sbatchNoExport: emptySamples(),
      backend: emptySamples(),
      pilot: emptySamples(),
    };
    const backendSide = side('slurmb');
    const backend = await startBackendTracker(cluster, backendSide, GPUS, POLL_MS);
    try {
      for (let i = 0; i < WARM_UP + SAMPLES; i++) {
        const into = (path: LatencyPath) => (i < WARM_UP ? emptySamples() : samples[path]);
        const round = [
          () => sampleSbatch(cluster, files, `sbatch-${i}`, into('sbatch')),
          () => sampleSbatch(cluster, files, `noexport-${i}`, into('sbatchNoExport'), ['--export=NONE']),
          () => sampleGpufleet(backendSide, files, `backend-${i}`, into('backend')),
        ];
        for (let k = 0; k < round.length; k++) {
          await jitter();
          await (round[(i + k) % round.length] as () => Promise<void>)();
        }
      }
    } finally {
      await backend.stop();
    }
    progress(`sbatch alone, with --export=NONE, and the backend: ${SAMPLES} samples each`);

    // 2. The trace through SLURM's scheduler; then a pilot: its latency samples, the trace.
    const timeoutMs = Math.max(120_000, 4 * easy.figures.makespanMs + 60_000);
    const onSlurm = await runTraceOnSlurm(cluster, files, trace, timeoutMs);
    const slurmColumn = measured(onSlurm);
    progress(
      `trace through SLURM: makespan ${fmt(slurmColumn.figures.makespanMs / 1000, 2)} s; ` +
        `jobs started by: ${JSON.stringify(onSlurm.startedBy)}`,
    );
    const pilotSide = side('slurmp');
    const pilot = await launchPilot(cluster, pilotSide, GPUS);
    progress(`pilot job ${pilot.jobId}: launch → tracker registered ${pilot.startMs} ms`);
    let onFleet: TraceRun;
    try {
      for (let i = 0; i < WARM_UP + SAMPLES; i++) {
        await jitter();
        await sampleGpufleet(pilotSide, files, `pilot-${i}`, i < WARM_UP ? emptySamples() : samples.pilot);
      }
      onFleet = await runTraceOnGpufleet(pilotSide, files, trace, timeoutMs);
    } finally {
      await pilot.stop();
    }
    const fleetColumn = measured(onFleet);
    progress(`trace through the pilot: makespan ${fmt(fleetColumn.figures.makespanMs / 1000, 2)} s`);

    const latency = {
      sbatch: latencyFigures(samples.sbatch),
      sbatchNoExport: latencyFigures(samples.sbatchNoExport),
      backend: latencyFigures(samples.backend),
      pilot: latencyFigures(samples.pilot),
    };
    printLatency(latency);
    const columns = { slurm: slurmColumn, gpufleet: fleetColumn, oldestFirst, easy };
    printTrace(columns, boundMs);
    await writeResult('slurm', info, {
      ...{ samples: SAMPLES, warmUp: WARM_UP, jitterMs: JITTER_MS, tasks: TASKS, seed: SEED, scale: SCALE },
      ...{ gpus: GPUS, pollMs: POLL_MS, slurm: settings, extraConf: benchSlurmConf(SCHED_PARAMS) },
      ...{ gpuSeconds, boundMs, pilotStartMs: pilot.startMs },
      latency,
      latencySamples: samples,
      trace: columns,
      traceTasks: trace,
      times: { slurm: onSlurm.tasks, gpufleet: onFleet.tasks },
    });
  } finally {
    if (slurm) {
      // Every job ended before the daemons stop: a job step whose slurmd is gone lingers.
      const left = await queuedJobs(slurm).catch(() => []);
      if (left.length > 0) await slurm.command('scancel', left).catch(() => undefined);
      await waitForJobsGone(slurm, null, 30_000).catch((error: unknown) => progress(String(error)));
      await slurm.stop();
    }
    await redis.quit();
    await server.stop();
    await removeDir(dir);
  }
}

await main();
