/**
 * One run of bench/compare-fairness.ts on a real fleet (bench/lib/tracker-fleet.ts): once the
 * trackers have started, tenant A's tasks are enqueued one after the other, then, `bAfterMs` after
 * A's first, tenant B's; each a 1-GPU `sleep` task. Under fair share each tenant's weight and the
 * queue's half-life go with its enqueues (core `enqueue`'s `scheduling` and `fairShareHalfLifeMs`:
 * what the API writes from its tenant settings); for oldest-first (what the fleet did before fair
 * share) both are enqueued as one tenant. Times come from the trackers' log lines (`spawned`,
 * `exited`, `completed`), submissions from the records' `createdAt`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { enqueue, getTask, queueKeys, type EnqueueOptions } from '@gpufleet/core';
import type { TenantLabel, TenantTaskTimes } from './fairness-figures.js';
import { seededRandom } from './prng.js';
import { sleepSpec, startTrackerFleet, waitForEvent } from './tracker-fleet.js';

/** 0.5–1.5 s in steps of 10 ms, times `scale`, from `seed`: A's `aTasks` durations, then B's. */
export function fairnessTrace(
  aTasks: number,
  bTasks: number,
  seed: number,
  scale: number,
): Record<TenantLabel, number[]> {
  const next = seededRandom(seed);
  const duration = (): number => Math.round((500 + Math.floor(next() * 101) * 10) * scale);
  return { A: Array.from({ length: aTasks }, duration), B: Array.from({ length: bTasks }, duration) };
}

export interface FairnessRunOptions {
  redis: Redis;
  redisUrl: string;
  prefix: string;
  trackers: number;
  gpusPerTracker: number;
  trace: Record<TenantLabel, number[]>;
  /** A's first submission → B's first, ms. */
  bAfterMs: number;
  /** A's and B's fair-share weights; null: both enqueued as one tenant (oldest-first). */
  weights: Record<TenantLabel, number> | null;
  halfLifeMs: number;
  /** How long the whole run may take, ms. */
  timeoutMs: number;
}

export interface FairnessRun {
  tasks: TenantTaskTimes[];
  /** Tasks that ran more than once (handed back, retried): none expected. */
  rerun: number;
}

const TENANT: Record<TenantLabel, string> = { A: 'tenant-a', B: 'tenant-b' };
const ONE_TENANT = 'shared';

export async function runFairness(options: FairnessRunOptions): Promise<FairnessRun> {
  const fleet = await startTrackerFleet(options);
  try {
    const deps = { redis: options.redis, prefix: options.prefix };
    const enqueueOptions = (label: TenantLabel): EnqueueOptions =>
      options.weights
        ? {
            tenant: TENANT[label],
            scheduling: { weight: options.weights[label], maxRunningGpus: null },
            fairShareHalfLifeMs: options.halfLifeMs,
          }
        : { tenant: ONE_TENANT, fairShareHalfLifeMs: options.halfLifeMs };
    const ids: Array<{ id: string; label: TenantLabel }> = [];
    const submit = async (label: TenantLabel): Promise<void> => {
      const opts = enqueueOptions(label);
      for (const ms of options.trace[label])
        ids.push({ id: (await enqueue(deps, sleepSpec(ms), opts)).id, label });
    };

    const start = Date.now();
    await submit('A');
    await sleep(Math.max(0, start + options.bAfterMs - Date.now()));
    await submit('B');
    await waitForEvent(
      fleet,
      'completed',
      ids.map((t) => t.id),
      options.timeoutMs,
    );

    const keys = queueKeys(options.prefix, 'default');
    const tasks = await Promise.all(
      ids.map(async ({ id, label }): Promise<TenantTaskTimes> => {
        const record = await getTask(options.redis, keys, id);
        if (!record) throw new Error(`task ${id} has no record`);
        if (record.status !== 'succeeded')
          throw new Error(`task ${id} ended ${record.status}: ${record.error}`);
        const { startMs, endMs, doneMs } = fleet.times(id);
        return { tenant: label, gpus: record.gpus, submitMs: record.createdAt, startMs, endMs, doneMs };
      }),
    );
    return { tasks, rerun: fleet.lines('spawned').length - ids.length };
  } finally {
    await fleet.stop();
  }
}
