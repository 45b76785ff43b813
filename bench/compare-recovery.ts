/**
 * Crash recovery, gpufleet against BullMQ (issue 8): two workers (separate processes) wait on one
 * queue; a 2 s job (`sleep 2`) starts on one of them, which is killed with SIGKILL 1 s into the
 * job; we time, from the kill, until the job starts again and until it completes on the other
 * worker, and say whether the killed worker's program was left running. Both systems run at their
 * defaults (gpufleet lease 15 s / liveness 3 s / sweep 1 s, from TRACKER_DEFAULTS; BullMQ
 * lockDuration 30 s / stalledInterval 30 s) and at their tightest sane settings (flags). Before
 * each job we wait a random part of the survivor's check period (sweep / stalledInterval), so the
 * kill falls at a random phase of its checks, as in a fleet that has run for a while. Rounds
 * alternate between the four configurations.
 * Then the crash under a backlog (issue 16, bench/lib/recovery-backlog.ts): two workers × 4 slots
 * (4 CPU slots per tracker; concurrency 4 per BullMQ worker), `--tasks` sleep tasks of 0.2–1 s
 * queued, the busier worker SIGKILLed when `--kill-at-percent` of them are done; kill → every
 * orphan restarted, kill → every orphan done, makespan, in the same configurations, the limit
 * being gpufleet's liveness TTL + sweep + 1 s. It first waits until Redis has been up for TTL +
 * 2 reconnects + 1 s (a younger Redis may have just restarted: no tracker is taken for dead then).
 * Usage: npm run bench:recovery -- [--dry-run] [--rounds 5] [--job-s 2] [--kill-after-ms 1000]
 *   [--lease-ms 3000] [--alive-ms 1500] [--sweep-ms 500] [--lock-ms 3000] [--stalled-ms 1000]
 *   [--only defaults|tight] [--system gpufleet|bullmq] [--scenario single|backlog] [--tasks 300]
 *   [--kill-at-percent 40]
 * Tiny size: --tasks 20 --rounds 1 --only tight (at the defaults BullMQ takes 30–90 s per round).
 * Writes bench/results/recovery.json.
 */
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { makeTempDir, removeDir, startRedis, type RedisServer } from '@gpufleet/testkit';
import { TRACKER_DEFAULTS } from '@gpufleet/tracker';
import { connectionOf } from './lib/bullmq.js';
import { preciseNow } from './lib/bullmq-processor.js';
import { groupAlive, processAlive } from './lib/cpu.js';
import { enqueueMany } from './lib/gpufleet.js';
import { sleepWork } from './lib/programs.js';
import { runBacklog, type BacklogRows } from './lib/recovery-backlog-run.js';
import { startWorker, type RecoveryConfig } from './lib/recovery-backlog.js';
import { exitIfDryRun, intFlag, progress, runInfo, writeResult } from './lib/report.js';
import { fmt, median } from './lib/stats.js';
import type { Line, WorkerProcess } from './lib/worker-process.js';

const { values } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
    'job-s': { type: 'string', default: '2' },
    'kill-after-ms': { type: 'string', default: '1000' },
    'lease-ms': { type: 'string', default: '3000' },
    'alive-ms': { type: 'string', default: '1500' },
    'sweep-ms': { type: 'string', default: '500' },
    'lock-ms': { type: 'string', default: '3000' },
    'stalled-ms': { type: 'string', default: '1000' },
    only: { type: 'string' },
    scenario: { type: 'string' },
    system: { type: 'string' },
    tasks: { type: 'string', default: '300' },
    'kill-at-percent': { type: 'string', default: '40' },
  },
});
if (values.scenario !== undefined && !['single', 'backlog'].includes(values.scenario))
  throw new Error(`--scenario must be single or backlog (got ${values.scenario})`);
if (values.system !== undefined && !['gpufleet', 'bullmq'].includes(values.system))
  throw new Error(`--system must be gpufleet or bullmq (got ${values.system})`);
const ROUNDS = intFlag(values, 'rounds');
const KILL_AFTER_MS = intFlag(values, 'kill-after-ms');
const work = sleepWork(intFlag(values, 'job-s'));
const TIMEOUT_MS = 150_000;

interface Config extends RecoveryConfig {
  settings: string;
  /** gpufleet: liveness TTL + sweep, the part of the limit set by the settings, ms. */
  ttlSweepMs?: number;
}
const ALL: Config[] = [
  {
    name: 'gpufleet defaults',
    system: 'gpufleet',
    settings: `lease ${TRACKER_DEFAULTS.leaseMs} ms, liveness ${TRACKER_DEFAULTS.aliveMs} ms, sweep ${TRACKER_DEFAULTS.sweepMs} ms`,
    periodMs: TRACKER_DEFAULTS.sweepMs,
    ttlSweepMs: TRACKER_DEFAULTS.aliveMs + TRACKER_DEFAULTS.sweepMs,
  },
  {
    name: 'BullMQ defaults',
    system: 'bullmq',
    settings: 'lockDuration 30 s, stalledInterval 30 s',
    periodMs: 30_000,
  },
  {
    name: 'gpufleet tightest',
    system: 'gpufleet',
    settings: `lease ${values['lease-ms']} ms, liveness ${values['alive-ms']} ms, sweep ${values['sweep-ms']} ms`,
    env: {
      GPUFLEET_LEASE_MS: String(values['lease-ms']),
      GPUFLEET_ALIVE_MS: String(values['alive-ms']),
      GPUFLEET_SWEEP_MS: String(values['sweep-ms']),
    },
    periodMs: intFlag(values, 'sweep-ms'),
    ttlSweepMs: intFlag(values, 'alive-ms') + intFlag(values, 'sweep-ms'),
  },
  {
    name: 'BullMQ tightest',
    system: 'bullmq',
    settings: `lockDuration ${values['lock-ms']} ms, stalledInterval ${values['stalled-ms']} ms`,
    lockDurationMs: intFlag(values, 'lock-ms'),
    stalledIntervalMs: intFlag(values, 'stalled-ms'),
    periodMs: intFlag(values, 'stalled-ms'),
  },
];
const CONFIGS = ALL.filter(
  (c) =>
    (!values.only || (values.only === 'tight') === c.name.endsWith('tightest')) &&
    (!values.system || values.system === c.system),
);

interface Outcome {
  restartMs: number;
  completeMs: number;
  orphanLeft: boolean;
}

let round = 0;

async function runOnce(server: RedisServer, config: Config): Promise<Outcome> {
  const id = `rec${++round}`;
  const dir = await makeTempDir('gpufleet-recovery-');
  const workers: WorkerProcess[] = [];
  const redis = server.client();
  const queue = new Queue(id, { connection: connectionOf(server.url) });
  try {
    const start = (n: number): Promise<WorkerProcess> =>
      startWorker(config, { redisUrl: server.url, id, n, dir, slots: 1 });
    workers.push(...(await Promise.all([start(1), start(2)])));
    const spawned = (l: Line): boolean => l.event === 'spawned';
    const completed = (l: Line): boolean =>
      l.event === 'completed' && (l.status === undefined || l.status === 'succeeded');
    // The checks run every periodMs from the workers' start: a random wait makes their phase at
    // the kill random, as it is in a fleet that has been running for a while.
    await sleep(Math.random() * config.periodMs);
    if (config.system === 'gpufleet') await enqueueMany(redis, id, 1, work);
    else await queue.add('sleep', { argv: work.argv });
    const first = await Promise.any(
      workers.map((w) => w.waitForLine(spawned, 20_000).then((line) => ({ w, line }))),
    );
    const victim = first.w;
    const survivor = workers.find((w) => w !== victim) as WorkerProcess;
    await sleep(Math.max(0, first.line.at + KILL_AFTER_MS - preciseNow()));
    const killedAt = preciseNow();
    victim.kill('SIGKILL');
    await sleep(500);
    const pid = Number(first.line.pid);
    const orphanLeft = config.system === 'gpufleet' ? groupAlive(pid) : processAlive(pid);
    const restart = await survivor.waitForLine(spawned, TIMEOUT_MS);
    const done = await survivor.waitForLine(completed, TIMEOUT_MS);
    return { restartMs: restart.at - killedAt, completeMs: done.at - killedAt, orphanLeft };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await queue.close();
    await redis.quit();
    await removeDir(dir);
  }
}

exitIfDryRun(values, 'recovery');

/** One job killed on an idle pair of workers: the tables, and what goes into the results file. */
async function runSingle(server: RedisServer): Promise<object> {
  const results = new Map<string, Outcome[]>(CONFIGS.map((c) => [c.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const config of r % 2 === 0 ? CONFIGS : [...CONFIGS].reverse()) {
      const outcome = await runOnce(server, config);
      results.get(config.name)?.push(outcome);
      progress(
        `round ${r + 1}/${ROUNDS} ${config.name}: restarted ${fmt(outcome.restartMs / 1000, 2)} s, completed ${fmt(outcome.completeMs / 1000, 2)} s after the kill`,
      );
    }
  }
  const med = (name: string, k: 'restartMs' | 'completeMs'): number =>
    median((results.get(name) ?? []).map((o) => o[k]));
  const rows = CONFIGS.map((c) => ({
    config: c.name,
    settings: c.settings,
    restartS: med(c.name, 'restartMs') / 1000,
    completeS: med(c.name, 'completeMs') / 1000,
    orphanLeft: (results.get(c.name) ?? []).filter((o) => o.orphanLeft).length,
  }));
  console.table(
    Object.fromEntries(
      rows.map((r) => [
        r.config,
        {
          settings: r.settings,
          'kill → restart s (median)': fmt(r.restartS, 2),
          'kill → complete s (median)': fmt(r.completeS, 2),
          'killed worker left its program running': `${r.orphanLeft} of ${ROUNDS}`,
        },
      ]),
    ),
  );
  const ratio = med('gpufleet defaults', 'completeMs') / med('BullMQ defaults', 'completeMs');
  const targets = { 'recovery at defaults ≤ 1/3 of BullMQ': { ratio, met: ratio <= 1 / 3 } };
  if (!Number.isNaN(ratio))
    console.table({
      'gpufleet / BullMQ at defaults (target ≤ 0.333)': {
        value: fmt(ratio, 3),
        target: ratio <= 1 / 3 ? 'met' : 'MISSED',
      },
    });
  return { rows, perRound: Object.fromEntries(results), targets };
}

async function main(): Promise<void> {
  const server = await startRedis();
  try {
    const info = await runInfo(server.client());
    const single = values.scenario === 'backlog' ? {} : await runSingle(server);
    let backlog: BacklogRows | undefined;
    if (values.scenario !== 'single')
      backlog = await runBacklog(server, CONFIGS, {
        rounds: ROUNDS,
        tasks: intFlag(values, 'tasks'),
        killAtPercent: intFlag(values, 'kill-at-percent'),
        timeoutMs: TIMEOUT_MS,
      });
    await writeResult('recovery', info, {
      rounds: ROUNDS,
      jobSeconds: intFlag(values, 'job-s'),
      killAfterMs: KILL_AFTER_MS,
      ...single,
      backlog,
    });
  } finally {
    await server.stop();
  }
}

await main();
