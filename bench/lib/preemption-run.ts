/**
 * One run of bench/compare-preemption.ts on a real fleet (bench/lib/tracker-fleet.ts, the
 * preemption grace set on every tracker): as many long 1-GPU `sleep` tasks as the fleet has GPUs,
 * plus a backlog of more, all at one low priority and, for the preemptible row, submitted
 * `preemptible`; once every GPU is busy, the urgent tasks are submitted one at a time.
 * - Preemptible: each urgent task after the one before started; then the run waits for every
 *   urgent task to complete and for each victim to run again (at most the grace + 10 s: a victim
 *   still queued then is reported, not an error).
 * - Not preemptible: each urgent task is watched for `holdMs` (it must neither start nor have a
 *   task stopped for it), then cancelled, so that the next one is again alone in line; its wait is
 *   computed (preemption-figures.ts `firstLongEndAfter`), waiting it out would take a whole long task.
 * The fleet is then stopped with no shutdown grace, so its running tasks are handed back (queued),
 * and every record is read: the checks (preemption-figures.ts `checkRun`) find each task in a known
 * state.
 */
import type { Redis } from 'ioredis';
import { cancelTask, enqueue, getTask, queueKeys, readQueueStats, type QueueKeys } from '@gpufleet/core';
import { enqueueBatched } from './priority-run.js';
import {
  checkRun,
  executions,
  runningAt,
  sampleFigures,
  type EndRecord,
  type PreemptionSample,
  type RunChecks,
  type RunLines,
} from './preemption-figures.js';
import {
  sleepSpec,
  startTrackerFleet,
  timeOf,
  waitForEvent,
  waitUntilAllGpusBusy,
  type TrackerFleet,
} from './tracker-fleet.js';

export interface PreemptionRunOptions {
  redis: Redis;
  redisUrl: string;
  prefix: string;
  trackers: number;
  gpusPerTracker: number;
  /** Submit the long tasks `preemptible: true` (else without the field, as before preemption). */
  preemptible: boolean;
  longMs: number;
  longPriority: number;
  /** Long tasks beyond those that fill the GPUs. */
  backlog: number;
  /** GPUFLEET_PREEMPT_GRACE_MS of every tracker. */
  graceMs: number;
  samples: number;
  urgentMs: number;
  urgentPriority: number;
  /** Not preemptible: how long each urgent task is watched before it is cancelled, ms. */
  holdMs: number;
  /** How long one wait (all GPUs busy, a start, the completions) may take, ms. */
  timeoutMs: number;
}

export interface PreemptionRun {
  samples: PreemptionSample[];
  checks: RunChecks;
  /** Not preemptible: urgent tasks that started during their hold (a long task ended first). */
  startedInHold: number;
}

export async function runPreemption(options: PreemptionRunOptions): Promise<PreemptionRun> {
  const fleet = await startTrackerFleet({
    ...options,
    // No shutdown grace: stopping the fleet hands the long tasks back at once (queued, the attempt
    // not counted) instead of letting them run on 30 s past the end.
    env: { GPUFLEET_PREEMPT_GRACE_MS: String(options.graceMs), GPUFLEET_SHUTDOWN_GRACE_MS: '0' },
  });
  const deps = { redis: options.redis, prefix: options.prefix };
  const keys = queueKeys(options.prefix, 'default');
  const urgent: Array<{ id: string; submitMs: number }> = [];
  let longIds: string[] = [];
  let startedInHold = 0;
  try {
    // The limit is twice the sleep, so no long task times out, but stays an honest estimate
    // (backfill reads time limits as the tasks' durations).
    const longSpec = {
      ...sleepSpec(options.longMs, 1, options.longPriority, Math.max(1000, 2 * options.longMs)),
      ...(options.preemptible ? { preemptible: true } : {}),
    };
    const totalGpus = options.trackers * options.gpusPerTracker;
    longIds = await enqueueBatched(
      deps,
      Array.from({ length: totalGpus + options.backlog }, () => longSpec),
    );
    await waitUntilAllGpusBusy(fleet, totalGpus, options.timeoutMs);

    for (let n = 0; n < options.samples; n++) {
      const { id } = await enqueue(deps, sleepSpec(options.urgentMs, 1, options.urgentPriority));
      const record = await getTask(options.redis, keys, id);
      if (!record) throw new Error(`urgent task ${id} has no record`);
      urgent.push({ id, submitMs: record.createdAt });
      if (options.preemptible) {
        await waitForEvent(fleet, 'spawned', [id], options.timeoutMs);
        continue;
      }
      if (await startsWithin(fleet, id, options.holdMs)) startedInHold++;
      else await cancelTask(options.redis, keys, id, Date.now(), 'the benchmark watched it wait');
    }
    if (options.preemptible) {
      const ids = urgent.map((u) => u.id);
      await waitForEvent(fleet, 'completed', ids, options.timeoutMs);
      await victimsBack(fleet, options.graceMs + 10_000);
    } else if (startedInHold > 0) {
      // Those that started hold a GPU for urgentMs: let them end, so that they end succeeded.
      const started = urgent.filter((u) => fleet.lines('spawned').some((l) => l.taskId === u.id));
      await waitForEvent(
        fleet,
        'completed',
        started.map((u) => u.id),
        options.timeoutMs,
      );
    }
  } finally {
    await fleet.stop();
  }

  const seen = linesOf(fleet);
  const longSet = new Set(longIds);
  const samples = urgent.map((u) => sampleFigures(seen, u, longSet, options.longMs));
  const records = new Map<string, EndRecord | null>();
  for (const id of [...longIds, ...urgent.map((u) => u.id)])
    records.set(id, await endRecord(options.redis, keys, id));
  const { waiting, running } = await readQueueStats(options.redis, keys);
  const checks = checkRun({
    preemptible: options.preemptible,
    seen,
    samples,
    longIds: longSet,
    records,
    stats: { waiting, running },
  });
  return { samples, checks, startedInHold };
}

function linesOf(fleet: TrackerFleet): RunLines {
  return {
    runs: executions(fleet.lines('spawned'), fleet.lines('exited')),
    preempting: fleet.lines('preempting'),
    handedBack: fleet.lines('handed-back'),
  };
}

/** Whether `id` starts, or has a task stopped for it, within `ms` (neither should happen unpreemptible). */
async function startsWithin(fleet: TrackerFleet, id: string, ms: number): Promise<boolean> {
  try {
    await fleet.waitUntil(
      (l) => l.taskId === id && (l.event === 'spawned' || l.event === 'preempting'),
      ms,
      () => `urgent task ${id} neither started nor preempted`,
    );
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits until every victim named so far has started again after its stop (a `spawned` line of a
 * later attempt), for at most `ms`; one that has not by then is left queued (the checks report it).
 */
async function victimsBack(fleet: TrackerFleet, ms: number): Promise<void> {
  const runs = executions(fleet.lines('spawned'), fleet.lines('exited'));
  // Victim → the attempt the preemption stopped (its last, if it was stopped twice).
  const stoppedAttempt = new Map<string, number>();
  for (const p of fleet.lines('preempting'))
    for (const v of Array.isArray(p.victims) ? p.victims.map(String) : [])
      stoppedAttempt.set(
        v,
        Math.max(stoppedAttempt.get(v) ?? 0, runningAt(runs, v, timeOf(p))?.attempt ?? 0),
      );
  const back = new Set<string>();
  await fleet
    .waitUntil(
      (l) => {
        const id = String(l.taskId);
        if (l.event === 'spawned' && Number(l.attempt) > (stoppedAttempt.get(id) ?? Infinity)) back.add(id);
        return back.size === stoppedAttempt.size;
      },
      ms,
      () => `${back.size} of ${stoppedAttempt.size} victims back`,
    )
    .catch(() => undefined);
}

/** A task's status and attempt counts at the end; null when it has no record (lost). */
async function endRecord(redis: Redis, keys: QueueKeys, id: string): Promise<EndRecord | null> {
  const record = await getTask(redis, keys, id);
  if (!record) return null;
  const free = Number((await redis.hget(keys.task(id), 'freeAttempts')) ?? 0);
  return {
    status: record.status,
    attempt: record.attempt,
    freeAttempts: free,
    preemptions: record.preemptions,
    preemptedBy: record.preemptedBy,
  };
}
