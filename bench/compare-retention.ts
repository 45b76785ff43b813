/**
 * Retention, bounded Redis (issue 19's figures), on a redis-server of its own:
 * 1. Bytes of Redis memory per waiting, running, just finished (its live log still there) and
 *    retained finished task (used_memory deltas over `--bytes-tasks` no-op tasks, through core's
 *    protocol calls).
 * 2. The soak: `--phases` phases of `--tasks` no-op tasks each through an in-process tracker
 *    (real executer processes, `--slots` CPU slots) with every final status retained
 *    `--retention-ms` and the sweep every `--sweep-ms`; the tasks are submitted as the backlog
 *    drains (at most `--backlog` waiting). After each phase, once its window has passed, Redis's
 *    used_memory is read until it is back within 10 % of the idle baseline (the fleet started, no
 *    task yet) or `--settle-ms` passes. Goal: within 10 % after each phase, flat across phases.
 * 3. The clean-up's cost: the sweep archiving `--cleanup-tasks` finished tasks on a fresh queue:
 *    Redis CPU per archived task and the longest single command (goal ≤ 5 ms).
 * 4. Reading archived tasks back by id from the local store: p50 (goal ≤ 20 ms) and p99.
 * Usage: npm run bench:retention -- [--dry-run] [--tasks 200000] [--phases 2] [--slots 4]
 *   [--backlog 2000] [--retention-ms 60000] [--sweep-ms 5000] [--settle-ms 180000]
 *   [--bytes-tasks 5000] [--cleanup-tasks 5000] [--reads 1000]
 * Tiny size (the smoke test): --tasks 200 --phases 2 --retention-ms 500 --sweep-ms 200
 *   --bytes-tasks 200 --cleanup-tasks 300 --reads 50. Writes bench/results/retention.json.
 */
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { FINAL_STATUSES, queueKeys, type RetentionPolicy } from '@gpufleet/core';
import { startRedis } from '@gpufleet/testkit';
import { enqueueMany, makeTracker } from './lib/gpufleet.js';
import { noopWork } from './lib/programs.js';
import { exitIfDryRun, intFlag, progress, runInfo, writeResult } from './lib/report.js';
import { archivedReads, bytesPerTask, cleanupCost, tempStore, usedMemory } from './lib/retention-costs.js';
import { fmt } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    tasks: { type: 'string', default: '200000' },
    phases: { type: 'string', default: '2' },
    slots: { type: 'string', default: '4' },
    backlog: { type: 'string', default: '2000' },
    'retention-ms': { type: 'string', default: '60000' },
    'sweep-ms': { type: 'string', default: '5000' },
    'settle-ms': { type: 'string', default: '180000' },
    'bytes-tasks': { type: 'string', default: '5000' },
    'cleanup-tasks': { type: 'string', default: '5000' },
    reads: { type: 'string', default: '1000' },
  },
});
exitIfDryRun(values, 'retention');
const TASKS = intFlag(values, 'tasks');
const PHASES = intFlag(values, 'phases');
const RETENTION_MS = intFlag(values, 'retention-ms');
const SWEEP_MS = intFlag(values, 'sweep-ms');
const SETTLE_MS = intFlag(values, 'settle-ms');
const MiB = 2 ** 20;

interface Phase {
  tasks: number;
  seconds: number;
  tasksPerSecond: number;
  peakMiB: number;
  afterWindowMiB: number;
  afterWindowVsBaseline: number;
  recordsLeft: number;
  secondsToSettle: number;
}

const server = await startRedis();
const redis = server.client();
try {
  const info = await runInfo(redis);
  progress(`bytes per task over ${intFlag(values, 'bytes-tasks')} tasks`);
  const bytes = await bytesPerTask(redis, 'bytes', intFlag(values, 'bytes-tasks'));
  await redis.flushall(); // the soak's baseline is an empty Redis with the fleet started

  const policy: RetentionPolicy = {
    byStatus: Object.fromEntries(FINAL_STATUSES.map((s) => [s, RETENTION_MS])),
    tenants: {},
  };
  const fleet = await makeTracker(server.url, {
    cpuSlots: intFlag(values, 'slots'),
    prefix: 'soak',
    config: { retention: policy, retentionSweepMs: SWEEP_MS },
  });
  const keys = queueKeys('soak', 'default');
  await fleet.tracker.start();
  await enqueueMany(redis, 'soak', 20, noopWork()); // warm-up: the executer's first spawns
  await waitUntil(async () => (await redis.zcard(keys.index)) === 0, RETENTION_MS + 10 * SWEEP_MS + 60_000);
  await sleep(2 * SWEEP_MS);
  const baseline = await usedMemory(redis);
  progress(`idle baseline ${fmt(baseline / MiB, 2)} MiB`);
  const phases: Phase[] = [];
  for (let p = 0; p < PHASES; p++) {
    progress(`phase ${p + 1}: ${TASKS} tasks`);
    let peak = baseline;
    const started = performance.now();
    for (let sent = 0; sent < TASKS;) {
      const waiting = await redis.xlen(keys.tasks(0));
      const room = Math.min(intFlag(values, 'backlog') - waiting, TASKS - sent);
      if (room > 0) {
        await enqueueMany(redis, 'soak', room, noopWork());
        sent += room;
      } else await sleep(50);
      peak = Math.max(peak, await usedMemory(redis));
    }
    await waitUntil(async () => {
      peak = Math.max(peak, await usedMemory(redis));
      // A task's entry is deleted when it ends: none left means every task of the phase ended.
      return (await redis.xlen(keys.tasks(0))) === 0;
    }, 3_600_000);
    const ran = (performance.now() - started) / 1000;
    const windowAt = performance.now();
    await sleep(RETENTION_MS);
    let after = await usedMemory(redis);
    await waitUntil(async () => {
      after = await usedMemory(redis);
      return after <= baseline * 1.1;
    }, SETTLE_MS).catch(() => undefined); // not back within the settle time: the figure says so
    phases.push({
      tasks: TASKS,
      seconds: ran,
      tasksPerSecond: TASKS / ran,
      peakMiB: peak / MiB,
      afterWindowMiB: after / MiB,
      afterWindowVsBaseline: after / baseline,
      recordsLeft: await redis.zcard(keys.index),
      secondsToSettle: (performance.now() - windowAt) / 1000 - RETENTION_MS / 1000,
    });
  }
  await fleet.cleanup();

  progress(`clean-up cost over ${intFlag(values, 'cleanup-tasks')} tasks`);
  const { store, done } = await tempStore();
  const cleanup = await cleanupCost(redis, 'cleanup', intFlag(values, 'cleanup-tasks'), store);
  const reads = await archivedReads(store, cleanup.ids.slice(0, intFlag(values, 'reads')));
  await done();

  const line = (cells: Array<string | number>): string => `| ${cells.join(' | ')} |\n`;
  let out = '\nRedis bytes per task (used_memory delta / tasks)\n';
  out += line(['waiting', 'running', 'finished (log grace)', 'retained finished']);
  out += line(['---', '---', '---', '---']);
  out += line([fmt(bytes.waiting, 0), fmt(bytes.running, 0), fmt(bytes.finished, 0), fmt(bytes.retained, 0)]);
  out += `\nSoak: ${PHASES} × ${TASKS} no-op tasks, retention ${RETENTION_MS} ms, sweep every ${SWEEP_MS} ms; idle baseline ${fmt(baseline / MiB, 2)} MiB\n`;
  out += line([
    'phase',
    'tasks/s',
    'peak MiB',
    'after window MiB',
    'after / baseline (goal ≤ 1.10)',
    'records left',
    's to settle',
  ]);
  out += line(['---', '---', '---', '---', '---', '---', '---']);
  phases.forEach(
    (p, i) =>
      (out += line([
        i + 1,
        fmt(p.tasksPerSecond, 0),
        fmt(p.peakMiB, 2),
        fmt(p.afterWindowMiB, 2),
        fmt(p.afterWindowVsBaseline, 3),
        p.recordsLeft,
        fmt(p.secondsToSettle, 1),
      ])),
  );
  out += '\nClean-up and archived reads\n';
  out += line([
    'archived',
    'Redis CPU µs per task',
    'longest command µs (goal ≤ 5000)',
    'longest command',
    'archived read p50 ms (goal ≤ 20)',
    'p99 ms',
  ]);
  out += line(['---', '---', '---', '---', '---', '---']);
  out += line([
    cleanup.archived,
    fmt(cleanup.redisCpuUsPerTask, 1),
    cleanup.longestCommandUs,
    cleanup.longestCommand,
    fmt(reads.p50, 3),
    fmt(reads.p99, 3),
  ]);
  process.stdout.write(out);
  const { ids: _ids, ...cleanupFigures } = cleanup;
  await writeResult('retention', info, {
    bytes,
    baselineMiB: baseline / MiB,
    phases,
    cleanup: cleanupFigures,
    reads,
  });
} finally {
  await server.stop();
}

async function waitUntil(done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > until) throw new Error(`not done within ${timeoutMs} ms`);
    await sleep(200);
  }
}
