/**
 * Cancel, gpufleet against BullMQ (issue 8): a running job is cancelled from another process; we
 * time from the cancel request until every process of its program is gone, and until the job is
 * final. Three programs (bench/lib/executers/tree/tree.sh): `single` (one process, `sleep 300`),
 * `obedient` (a shell and two grandchildren, ending on SIGTERM) and `stubborn` (the same tree,
 * deaf to SIGTERM: only the SIGKILL after the grace ends it). gpufleet: cancelTask() → the tracker
 * kills the task's process group (grace GPUFLEET_KILL_GRACE_MS, default 5 s). BullMQ: its
 * documented way, a Relay message that the worker turns into worker.cancelJob(id) → the
 * processor's AbortSignal, passed to execa as cancelSignal (SIGTERM, then SIGKILL after execa's
 * default 5 s), which signals the direct child only. Workers are separate processes; rounds
 * alternate.
 * Usage: npm run bench:cancel -- [--dry-run] [--rounds 5] [--watch-ms 10000] [--grace-ms 5000]
 *   [--modes single,obedient,stubborn] (the programs to cancel; default all three)
 * Tiny size (the smoke test): --rounds 1 --watch-ms 1000 --grace-ms 200 --modes single
 * Writes bench/results/cancel.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Relay } from 'bullmq';
import { cancelTask, getTask, queueKeys } from '@gpufleet/core';
import { makeTempDir, removeDir, startRedis, type RedisServer } from '@gpufleet/testkit';
import { connectionOf } from './lib/bullmq.js';
import { preciseNow } from './lib/bullmq-processor.js';
import { processAlive } from './lib/cpu.js';
import { enqueueMany } from './lib/gpufleet.js';
import { treeWork, type TreeMode } from './lib/programs.js';
import { exitIfDryRun, intFlag, progress, runInfo, writeResult } from './lib/report.js';
import { fmt, median } from './lib/stats.js';
import { startBullWorker, startTracker, type Line, type WorkerProcess } from './lib/worker-process.js';

const { values } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
    'watch-ms': { type: 'string', default: '10000' },
    'grace-ms': { type: 'string', default: '5000' },
    modes: { type: 'string', default: 'single,obedient,stubborn' },
  },
});
const ROUNDS = intFlag(values, 'rounds');
const WATCH_MS = intFlag(values, 'watch-ms');
const GRACE_MS = intFlag(values, 'grace-ms');
type System = 'gpufleet' | 'bullmq';
const MODES = values.modes.split(',').map((m) => m.trim()) as TreeMode[];
for (const mode of MODES)
  if (!['single', 'obedient', 'stubborn'].includes(mode))
    throw new Error(`--modes takes single, obedient and stubborn (got ${mode})`);

interface Outcome {
  /** ms from the request until the program's first process (the shell) is gone; null: not gone. */
  leaderGoneMs: number | null;
  /** ms until all three processes are gone; null: some still alive after the watch. */
  treeGoneMs: number | null;
  left: number;
  /** ms until the worker reported the job final (cancelled / failed); null: not within the watch. */
  finalMs: number | null;
  /** The job's state in Redis at the end of the watch. */
  stateAfter: string;
}

let round = 0;

async function runOnce(server: RedisServer, system: System, mode: TreeMode): Promise<Outcome> {
  const id = `can${++round}`;
  const dir = await makeTempDir('gpufleet-cancel-');
  const pidFile = `${dir}/tree.pids`;
  const work = treeWork(pidFile, mode);
  const redis = server.client();
  const connection = connectionOf(server.url);
  const queue = new Queue(id, { connection });
  const relay = new Relay({ connection });
  let worker: WorkerProcess | undefined;
  let pids: number[] = [];
  try {
    worker =
      system === 'gpufleet'
        ? await startTracker({
            redisUrl: server.url,
            prefix: id,
            name: id,
            dir,
            cpuSlots: 1,
            env: { GPUFLEET_KILL_GRACE_MS: String(GRACE_MS) },
          })
        : await startBullWorker({
            redisUrl: server.url,
            queue: id,
            name: id,
            concurrency: 1,
            events: true,
            relay: true,
          });
    let jobId: string;
    if (system === 'gpufleet') [jobId = ''] = await enqueueMany(redis, id, 1, work);
    else jobId = (await queue.add('tree', { argv: work.argv })).id ?? '';
    const deadline = Date.now() + 20_000;
    while (!existsSync(pidFile) && Date.now() < deadline) await sleep(10);
    pids = readFileSync(pidFile, 'utf8').trim().split(' ').map(Number);
    // The shell (or, for `single`, the sleep it became) and its grandchildren.
    await sleep(200);
    const requested = preciseNow();
    if (system === 'gpufleet') await cancelTask(redis, queueKeys(id, 'default'), jobId, Date.now());
    else await relay.publish(`jobs.${id}.cancel`, { jobId, reason: 'benchmark' });
    let leaderGoneMs: number | null = null;
    let treeGoneMs: number | null = null;
    while (preciseNow() - requested < WATCH_MS) {
      const alive = pids.map(processAlive);
      if (leaderGoneMs === null && !alive[0]) leaderGoneMs = preciseNow() - requested;
      if (!alive.some(Boolean)) {
        treeGoneMs = preciseNow() - requested;
        break;
      }
      await sleep(5);
    }
    const final = (l: Line): boolean =>
      (l.event === 'completed' && l.status === 'cancelled') || l.event === 'failed';
    const done = await worker.waitForLine(final, 1000).catch(() => null);
    const stateAfter =
      system === 'gpufleet'
        ? ((await getTask(redis, queueKeys(id, 'default'), jobId))?.status ?? 'missing')
        : ((await (await queue.getJob(jobId))?.getState()) ?? 'missing');
    const left = pids.filter(processAlive).length;
    return { leaderGoneMs, treeGoneMs, left, finalMs: done ? done.at - requested : null, stateAfter };
  } finally {
    for (const pid of pids) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    await worker?.stop();
    await relay.close();
    await queue.close();
    await redis.quit();
    await removeDir(dir);
  }
}

exitIfDryRun(values, 'cancel');

async function main(): Promise<void> {
  const server = await startRedis();
  try {
    const info = await runInfo(server.client());
    const cases = MODES.flatMap((mode) =>
      (['gpufleet', 'bullmq'] as System[]).map((system) => ({ system, mode })),
    );
    const results = new Map<string, Outcome[]>(cases.map((c) => [`${c.system} ${c.mode}`, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of r % 2 === 0 ? cases : [...cases].reverse()) {
        const o = await runOnce(server, c.system, c.mode);
        results.get(`${c.system} ${c.mode}`)?.push(o);
        progress(
          `round ${r + 1}/${ROUNDS} ${c.system} ${c.mode}: shell gone ${fmt(o.leaderGoneMs, 0)} ms, tree gone ${o.treeGoneMs === null ? `never (${o.left} left)` : `${fmt(o.treeGoneMs, 0)} ms`}`,
        );
      }
    }
    const med = (xs: Array<number | null>): number | null =>
      xs.some((x) => x === null) ? null : median(xs as number[]);
    const rows = [...results].map(([name, os]) => ({
      case: name,
      leaderGoneMs: med(os.map((o) => o.leaderGoneMs)),
      treeGoneMs: med(os.map((o) => o.treeGoneMs)),
      roundsTreeNotGone: os.filter((o) => o.treeGoneMs === null).length,
      finalMs: med(os.map((o) => o.finalMs)),
      statesAfter: [...new Set(os.map((o) => o.stateAfter))].join(', '),
    }));
    const limit = GRACE_MS + 1000;
    console.table(
      Object.fromEntries(
        rows.map((r) => [
          r.case,
          {
            'request → first process gone ms': fmt(r.leaderGoneMs, 0),
            'request → whole tree gone ms':
              r.treeGoneMs === null
                ? `not gone after ${WATCH_MS / 1000} s in ${r.roundsTreeNotGone} of ${ROUNDS}`
                : fmt(r.treeGoneMs, 0),
            'request → job final ms': fmt(r.finalMs, 0),
            'job state after the watch': r.statesAfter,
            [`target ≤ grace + 1 s (${limit} ms)`]:
              r.treeGoneMs !== null && r.treeGoneMs <= limit ? 'met' : 'MISSED',
          },
        ]),
      ),
    );
    await writeResult('cancel', info, {
      rounds: ROUNDS,
      graceMs: GRACE_MS,
      watchMs: WATCH_MS,
      rows,
      perRound: Object.fromEntries(results),
    });
  } finally {
    await server.stop();
  }
}

await main();
