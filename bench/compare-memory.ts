/**
 * Memory, gpufleet against BullMQ (issue 8): the resident memory (RSS) of the worker process,
 * run as its own process with C slots (the built gpufleet-tracker, logging at info to a pipe we
 * drain; a BullMQ Worker under tsx), idle after a warm-up, then after N no-op tasks, its peak, and
 * again after a few idle seconds. The BullMQ worker runs under tsx's loader, which itself takes
 * memory: compare the growth as much as the absolute figures.
 * Usage: npm run bench:memory -- [--dry-run] [--tasks 10000] [--concurrency 4] [--idle-ms 5000]
 *   [--warm-up 50]
 * Tiny size (the smoke test): --tasks 10 --warm-up 2 --idle-ms 100
 * Writes bench/results/memory.json.
 */
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { makeTempDir, removeDir, startRedis, type RedisServer } from '@gpufleet/testkit';
import { addMany, connectionOf } from './lib/bullmq.js';
import { memoryOf } from './lib/cpu.js';
import { enqueueMany, lastEventId, waitForFinal } from './lib/gpufleet.js';
import { noopWork } from './lib/programs.js';
import { exitIfDryRun, intFlag, progress, runInfo, writeResult } from './lib/report.js';
import { fmt } from './lib/stats.js';
import { startBullWorker, startTracker, type WorkerProcess } from './lib/worker-process.js';

const { values } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    tasks: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '4' },
    'idle-ms': { type: 'string', default: '5000' },
    'warm-up': { type: 'string', default: '50' },
  },
});
const TASKS = intFlag(values, 'tasks');
const CONCURRENCY = intFlag(values, 'concurrency');
const IDLE_MS = intFlag(values, 'idle-ms');
const WARM_UP = intFlag(values, 'warm-up');
const work = noopWork();
const MiB = 2 ** 20;

interface Memory {
  idleAfterWarmUpMiB: number;
  afterTasksMiB: number;
  peakMiB: number;
  afterIdleMiB: number;
  seconds: number;
}

/** Runs the warm-up and the tasks through `run(n)`, sampling the worker's memory. */
async function measure(worker: WorkerProcess, run: (n: number) => Promise<void>): Promise<Memory> {
  await run(WARM_UP);
  await sleep(1000);
  const idle = memoryOf(worker.pid).rssBytes;
  const started = performance.now();
  await run(TASKS);
  const seconds = (performance.now() - started) / 1000;
  const after = memoryOf(worker.pid);
  await sleep(IDLE_MS);
  return {
    idleAfterWarmUpMiB: idle / MiB,
    afterTasksMiB: after.rssBytes / MiB,
    peakMiB: memoryOf(worker.pid).peakRssBytes / MiB,
    afterIdleMiB: memoryOf(worker.pid).rssBytes / MiB,
    seconds,
  };
}

async function gpufleet(server: RedisServer): Promise<Memory> {
  const dir = await makeTempDir('gpufleet-memory-');
  const redis = server.client();
  const prefix = 'mem';
  const tracker = await startTracker({
    redisUrl: server.url,
    prefix,
    name: 'mem',
    dir,
    cpuSlots: CONCURRENCY,
    keepLines: false,
  });
  try {
    return await measure(tracker, async (n) => {
      const from = await lastEventId(redis, prefix);
      const [, done] = await Promise.all([
        enqueueMany(redis, prefix, n, work),
        waitForFinal(redis, prefix, n, { from }),
      ]);
      void done;
    });
  } finally {
    await tracker.stop();
    await redis.quit();
    await removeDir(dir);
  }
}

async function bullmq(server: RedisServer): Promise<Memory> {
  const queue = new Queue('mem', { connection: connectionOf(server.url) });
  const worker = await startBullWorker({
    redisUrl: server.url,
    queue: 'mem',
    name: 'mem',
    concurrency: CONCURRENCY,
  });
  let total = 0;
  try {
    return await measure(worker, async (n) => {
      total += n;
      await addMany(queue, n, work);
      while ((await queue.getCompletedCount()) < total) {
        if ((await queue.getFailedCount()) > 0) throw new Error('a BullMQ job failed');
        await sleep(200);
      }
    });
  } finally {
    await worker.stop();
    await queue.close();
  }
}

exitIfDryRun(values, 'memory');

async function main(): Promise<void> {
  const server = await startRedis();
  try {
    const info = await runInfo(server.client());
    progress(`gpufleet: ${TASKS} tasks`);
    const fleet = await gpufleet(server);
    progress(`BullMQ: ${TASKS} tasks`);
    const bull = await bullmq(server);
    const row = (m: Memory) => ({
      'idle after warm-up MiB': fmt(m.idleAfterWarmUpMiB),
      [`after ${TASKS} tasks MiB`]: fmt(m.afterTasksMiB),
      'growth MiB': fmt(m.afterTasksMiB - m.idleAfterWarmUpMiB),
      'peak MiB': fmt(m.peakMiB),
      [`after ${IDLE_MS / 1000} s idle MiB`]: fmt(m.afterIdleMiB),
      'tasks/s': fmt(TASKS / m.seconds, 0),
    });
    console.table({ 'gpufleet tracker (bin)': row(fleet), 'BullMQ worker (tsx)': row(bull) });
    await writeResult('memory', info, {
      tasks: TASKS,
      concurrency: CONCURRENCY,
      gpufleet: fleet,
      bullmq: bull,
    });
  } finally {
    await server.stop();
  }
}

await main();
