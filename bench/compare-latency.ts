/**
 * Enqueue-to-spawn latency on an idle system, gpufleet against BullMQ (issue 8): one in-process
 * gpufleet tracker and one in-process BullMQ Worker (each with C slots, each on its own queue of
 * the same redis-server) wait idle; one task at a time is enqueued, alternating between the two,
 * and we time from just before the enqueue call until the no-op program has been spawned, then
 * wait for the task to complete and the system to be idle again. gpufleet's `spawned` event
 * carries the time its spawner saw the exec go through; BullMQ's is taken right after execa
 * returns the child (Node's spawn returns once the exec went through): the same point in both.
 * Usage: npm run bench:latency -- [--dry-run] [--samples 200] [--warm-up 20] [--idle-ms 30] [--concurrency 4]
 * Writes bench/results/latency.json.
 */
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { enqueue } from '@gpufleet/core';
import { startRedis } from '@gpufleet/testkit';
import { makeBull } from './lib/bullmq.js';
import { preciseNow } from './lib/bullmq-processor.js';
import { lastEventId, makeTracker, waitForFinal } from './lib/gpufleet.js';
import { noopWork } from './lib/programs.js';
import { exitIfDryRun, intFlag, progress, runInfo, writeResult } from './lib/report.js';
import { fmt, summarize } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    samples: { type: 'string', default: '200' },
    'warm-up': { type: 'string', default: '20' },
    'idle-ms': { type: 'string', default: '30' },
    concurrency: { type: 'string', default: '4' },
  },
});
const SAMPLES = intFlag(values, 'samples');
const WARM_UP = intFlag(values, 'warm-up');
const IDLE_MS = intFlag(values, 'idle-ms');
const CONCURRENCY = intFlag(values, 'concurrency');
const work = noopWork();

/** Resolves with the value `key` gets in `map`, polling each turn of the event loop. */
async function valueOf(map: Map<string, number>, key: string): Promise<number> {
  for (;;) {
    const value = map.get(key);
    if (value !== undefined) return value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

exitIfDryRun(values, 'latency');

async function main(): Promise<void> {
  const server = await startRedis();
  const redis = server.client();
  const fleet = await makeTracker(server.url, { cpuSlots: CONCURRENCY });
  const fleetSpawned = new Map<string, number>();
  fleet.tracker.on('task', (e) => e.type === 'spawned' && fleetSpawned.set(e.taskId, e.at));
  const bullSpawned = new Map<string, number>();
  const bull = makeBull(server.url, CONCURRENCY, {
    onSpawned: (jobId, _pid, at) => bullSpawned.set(jobId, at),
  });
  try {
    const info = await runInfo(redis);
    await fleet.tracker.start();
    bull.start();
    await bull.worker.waitUntilReady();
    const latency = { gpufleet: [] as number[], bullmq: [] as number[] };
    for (let i = 0; i < WARM_UP + SAMPLES; i++) {
      const from = await lastEventId(redis, fleet.prefix);
      const t0 = preciseNow();
      const { id } = await enqueue({ redis, prefix: fleet.prefix }, { executer: work.executer });
      const fleetMs = (await valueOf(fleetSpawned, id)) - t0;
      await waitForFinal(redis, fleet.prefix, 1, { from });
      await sleep(IDLE_MS);
      const t1 = preciseNow();
      const job = await bull.queue.add(work.executer, { argv: work.argv });
      const bullMs = (await valueOf(bullSpawned, job.id ?? '')) - t1;
      await bull.completed(i + 1);
      await sleep(IDLE_MS);
      if (i >= WARM_UP) {
        latency.gpufleet.push(fleetMs);
        latency.bullmq.push(bullMs);
      }
      if ((i + 1) % 50 === 0) progress(`${i + 1} of ${WARM_UP + SAMPLES}`);
    }
    const stats = { gpufleet: summarize(latency.gpufleet), bullmq: summarize(latency.bullmq) };
    console.table(
      Object.fromEntries(
        Object.entries(stats).map(([system, s]) => [
          system,
          {
            'enqueue → spawn p50 ms': fmt(s.p50, 2),
            'p99 ms': fmt(s.p99, 2),
            'mean ms': fmt(s.mean, 2),
            samples: s.n,
          },
        ]),
      ),
    );
    await writeResult('latency', info, {
      samples: SAMPLES,
      concurrency: CONCURRENCY,
      idleMs: IDLE_MS,
      enqueueToSpawnMs: stats,
      raw: latency,
    });
  } finally {
    await bull.close();
    await fleet.cleanup();
    await redis.quit();
    await server.stop();
  }
}

await main();
