/**
 * Offline schedules of a task trace on identical GPU trackers, for bench/compare-scheduling.ts: a
 * pure function, no clock, no Redis. Every task is submitted at t = 0 in trace order, runs exactly
 * its duration on `gpus` GPUs of one tracker, and frees them the moment it ends (no overhead).
 * Placement is first fit: the lowest-numbered tracker with enough free GPUs.
 *
 * - `oldest-first`: what gpufleet does today (packages/core/lua/take.lua): tasks start strictly in
 *   order; while the first waiting task fits no tracker, nothing behind it starts.
 * - `easy-backfill`: EASY backfill. The waiting tasks start in order while they fit; the first
 *   that does not gets a reservation on the tracker where enough GPUs free up first (from the
 *   running tasks' ends; ties: the lowest-numbered). A later task starts now if it fits now on
 *   another tracker, or on the reserved one if it ends by the reservation or uses GPUs the
 *   reservation leaves spare; so the first waiting task never starts later than its reservation.
 *   The reservation is made again at every task end.
 */

export interface SimTask {
  gpus: number;
  durationMs: number;
}

export interface SimFleet {
  trackers: number;
  gpusPerTracker: number;
}

export type SimPolicy = 'oldest-first' | 'easy-backfill';

export interface SimPlacement {
  tracker: number;
  startMs: number;
  endMs: number;
}

export interface SimSchedule {
  /** One per task, in trace order. */
  placements: SimPlacement[];
  /** The last task's end (0 for no tasks). */
  makespanMs: number;
}

interface Running {
  task: number;
  tracker: number;
  gpus: number;
  endMs: number;
}

interface Reservation {
  tracker: number;
  atMs: number;
  /** GPUs free on that tracker at `atMs` beyond what the reserved task needs. */
  spare: number;
}

export function simulateSchedule(tasks: readonly SimTask[], fleet: SimFleet, policy: SimPolicy): SimSchedule {
  if (!Number.isInteger(fleet.trackers) || fleet.trackers < 1)
    throw new Error(`a fleet needs at least one tracker (got ${fleet.trackers})`);
  tasks.forEach((task, i) => {
    if (!Number.isInteger(task.gpus) || task.gpus < 1 || task.gpus > fleet.gpusPerTracker)
      throw new Error(`task ${i} asks for ${task.gpus} GPUs; a tracker has ${fleet.gpusPerTracker}`);
    if (!(task.durationMs >= 0)) throw new Error(`task ${i} has a duration of ${task.durationMs} ms`);
  });
  const free: number[] = Array.from({ length: fleet.trackers }, () => fleet.gpusPerTracker);
  const running: Running[] = [];
  const placements: SimPlacement[] = [];
  const waiting = tasks.map((_, i) => i);

  const start = (task: number, tracker: number, nowMs: number): void => {
    const { gpus, durationMs } = tasks[task] as SimTask;
    free[tracker] = (free[tracker] as number) - gpus;
    running.push({ task, tracker, gpus, endMs: nowMs + durationMs });
    placements[task] = { tracker, startMs: nowMs, endMs: nowMs + durationMs };
  };
  const firstFit = (gpus: number, allowed: (tracker: number) => boolean = () => true): number =>
    free.findIndex((f, tracker) => f >= gpus && allowed(tracker));

  /** Where and when `gpus` GPUs are free first, from the running tasks' ends. */
  const reserve = (gpus: number): Reservation => {
    let best: Reservation | null = null;
    for (let tracker = 0; tracker < fleet.trackers; tracker++) {
      const ends = running.filter((r) => r.tracker === tracker).sort((a, b) => a.endMs - b.endMs);
      let available = free[tracker] as number;
      let i = 0;
      while (available < gpus && i < ends.length) {
        const atMs = (ends[i] as Running).endMs;
        // Every task that ends at that moment frees its GPUs then.
        while (i < ends.length && (ends[i] as Running).endMs === atMs)
          available += (ends[i++] as Running).gpus;
        if (available >= gpus && (best === null || atMs < best.atMs))
          best = { tracker, atMs, spare: available - gpus };
      }
    }
    if (best === null) throw new Error(`no tracker can ever free ${gpus} GPUs`);
    return best;
  };

  const pass = (nowMs: number): void => {
    while (waiting.length > 0) {
      const tracker = firstFit((tasks[waiting[0] as number] as SimTask).gpus);
      if (tracker < 0) break;
      start(waiting.shift() as number, tracker, nowMs);
    }
    if (policy === 'oldest-first' || waiting.length === 0) return;
    const reservation = reserve((tasks[waiting[0] as number] as SimTask).gpus);
    for (let i = 1; i < waiting.length;) {
      const task = waiting[i] as number;
      const { gpus, durationMs } = tasks[task] as SimTask;
      const endsInTime = nowMs + durationMs <= reservation.atMs;
      let tracker = firstFit(gpus, (t) => t !== reservation.tracker);
      if (tracker < 0 && (endsInTime || gpus <= reservation.spare))
        tracker = firstFit(gpus, (t) => t === reservation.tracker);
      if (tracker < 0) {
        i++;
        continue;
      }
      if (tracker === reservation.tracker && !endsInTime) reservation.spare -= gpus;
      start(task, tracker, nowMs);
      waiting.splice(i, 1);
    }
  };

  let nowMs = 0;
  for (;;) {
    pass(nowMs);
    if (waiting.length === 0) break;
    nowMs = Math.min(...running.map((r) => r.endMs));
    for (let i = running.length - 1; i >= 0; i--) {
      const r = running[i] as Running;
      if (r.endMs > nowMs) continue;
      free[r.tracker] = (free[r.tracker] as number) + r.gpus;
      running.splice(i, 1);
    }
  }
  return { placements, makespanMs: Math.max(0, ...placements.map((p) => p.endMs)) };
}
