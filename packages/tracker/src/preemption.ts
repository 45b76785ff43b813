/**
 * Preemption, the tracker's part. The take answers `wait` with the first task in line when it does
 * not fit this tracker's free slots (lua/take.lua). If some of this tracker's running tasks were
 * submitted preemptible and have a lower priority than that task, and stopping them would make it
 * fit, the tracker chooses which (`chooseVictims`: the lowest priority first, of equals the latest
 * started, so the least work is lost; then none that the others make room without), records the
 * preemption in Redis (core's `preemptFor`, which checks every condition again in one step and
 * refuses when another tracker already preempts for that task), and only then stops them: SIGTERM,
 * SIGKILL after GPUFLEET_PREEMPT_GRACE_MS. Each is handed back to the queue, first within its
 * priority, the attempt not counted (run/attempt-settle.ts); once their slots are free, the next
 * take starts the first task (the preemption holds its backfill reservation meanwhile). One
 * preemption at a time per tracker. Priority alone triggers it: fair share orders who starts next,
 * it never stops running work (docs/architecture.md, "Preemption").
 */
import type { Redis } from 'ioredis';
import {
  entryFields,
  parseGpuRequestSuffix,
  parseWaitSetName,
  preemptFor,
  type Logger,
  type QueueKeys,
} from '@gpufleet/core';
import type { SlotPool } from './slot-pool.js';
import { eventField, type EmitTrackerEvent } from './tracker-events.js';

/** A running task a preemption may stop. */
export interface PreemptionCandidate {
  taskId: string;
  /** Its attempt's lease token (the preemption is fenced by it). */
  token: string;
  /** Its GPUs (0: it holds a CPU slot). */
  gpus: number;
  priority: number;
  startedAt: number;
}

/**
 * The tasks to stop so that `need` slots are free, `free` being free now (each candidate frees its
 * `slots`); null when they would not be enough, or none need stopping.
 */
export function chooseVictims<T extends { priority: number; startedAt: number; slots: number }>(
  need: number,
  free: number,
  candidates: readonly T[],
): T[] | null {
  if (need <= free) return null;
  const order = [...candidates].sort((a, b) => a.priority - b.priority || b.startedAt - a.startedAt);
  const chosen: T[] = [];
  let room = free;
  for (const candidate of order) {
    if (room >= need) break;
    chosen.push(candidate);
    room += candidate.slots;
  }
  if (room < need) return null;
  // The last chosen are the most valuable: keep each one the others make room without.
  for (let i = chosen.length - 1; i >= 0; i--) {
    const slots = chosen[i]?.slots ?? 0;
    if (room - slots >= need) {
      chosen.splice(i, 1);
      room -= slots;
    }
  }
  return chosen;
}

/**
 * Whether an entry of the queue's events stream (its fields) may put a task first in line that a
 * running task of priority `lowest` could be preempted for: a task queued (or its priority
 * changed) above it; an entry without a priority may be anything, so it counts.
 */
export function mayCallForPreemption(fields: readonly string[], lowest: number): boolean {
  const f = entryFields(fields);
  if (f.get('status') !== 'queued' && f.get('change') !== 'priority') return false;
  const priority = f.get('priority');
  return priority === undefined || !(Number(priority) <= lowest);
}

export interface PreempterDeps {
  redis: Redis;
  keys: QueueKeys;
  consumer: string;
  graceMs: number;
  pool: SlotPool;
  attempts: {
    preemptionCandidates(): PreemptionCandidate[];
    readonly preempting: boolean;
    preempt(taskIds: readonly string[], by: string, graceMs: number, now: number): void;
    /** The running attempts' GPUs (absent: none is known to be on a GPU held back). */
    readonly running?: ReadonlyMap<string, { gpuIds: readonly number[] }>;
  };
  logger: Logger;
  emit: EmitTrackerEvent;
  now: () => number;
}

export class Preempter {
  constructor(private readonly deps: PreempterDeps) {}

  /**
   * Whether a preemption could start here now: a running task may be stopped and none is being
   * stopped. The consumer loop then watches the queue even with every slot taken.
   */
  get watching(): boolean {
    return !this.deps.attempts.preempting && this.deps.attempts.preemptionCandidates().length > 0;
  }

  /** The lowest priority of the running tasks a preemption could stop now; null: none. */
  lowestPriority(): number | null {
    if (this.deps.attempts.preempting) return null;
    const priorities = this.deps.attempts.preemptionCandidates().map((c) => c.priority);
    return priorities.length === 0 ? null : Math.min(...priorities);
  }

  /** The take's `wait`: the first task in line (`taskId`, of wait set `waitSet`) does not fit. */
  async consider(first: { taskId: string; waitSet: string }): Promise<void> {
    const { attempts, pool, logger } = this.deps;
    const set = parseWaitSetName(first.waitSet);
    if (!first.taskId || !set || attempts.preempting || pool.drained !== null) return;
    // A task with a GPU request (a model, memory) is preempted for only where every GPU satisfies
    // it: which GPUs the victims free would matter otherwise, and victims are chosen by count.
    const request = parseGpuRequestSuffix(set.request);
    if (set.request && !pool.gpuIds.every((id) => pool.satisfies(id, request))) return;
    const gpuTask = set.gpus > 0;
    // A task on a GPU held back (drained) finishes: stopping it would free no GPU to give out.
    const onHeldGpu = (taskId: string): boolean =>
      (attempts.running?.get(taskId)?.gpuIds ?? []).some((id) => pool.heldGpus.has(id));
    const candidates = attempts
      .preemptionCandidates()
      .filter((c) => c.priority < set.priority && c.gpus > 0 === gpuTask && !onHeldGpu(c.taskId))
      .map((c) => ({ ...c, slots: gpuTask ? c.gpus : 1 }));
    const free = gpuTask ? pool.freeGpuCount : pool.freeCpuCount;
    const victims = chooseVictims(gpuTask ? set.gpus : 1, free, candidates);
    if (!victims) return;
    const { redis, keys, consumer, graceMs } = this.deps;
    const now = this.deps.now();
    const result = await preemptFor(redis, keys, {
      consumer,
      taskId: first.taskId,
      victims: victims.map(({ taskId, token }) => ({ taskId, token })),
      graceMs,
      now,
    });
    if (result.kind !== 'preempted') {
      logger.debug({ taskId: first.taskId, result }, 'preemption not recorded');
      return;
    }
    const ids = victims.map((v) => v.taskId);
    attempts.preempt(ids, first.taskId, graceMs, now);
    logger.info(
      { taskId: first.taskId, priority: set.priority, victims: ids, graceMs, ...eventField('preempting') },
      'stopping tasks of lower priority for a task that does not fit',
    );
    this.deps.emit('preempting', { taskId: first.taskId, priority: set.priority, victims: ids, graceMs });
  }
}
