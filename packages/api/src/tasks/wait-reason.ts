/**
 * Why a queued task waits, in SLURM's words (squeue's REASON), so that a person can tell "wait
 * your turn" from "this will never start as it is". The first rule that holds wins:
 *
 * - `Dependency`: it was submitted `after` a task that has not ended yet (until that one ends, and
 *   the sweep puts it in line): SLURM's word for a job held by `--dependency`.
 * - `BeginTime`: it waits out a retry backoff (until its `notBefore`, and until the sweep puts it
 *   back in line after that).
 * - `Quota`: its tenant's running tasks hold so many GPUs in the queue that this task's would pass
 *   the tenant's `maxRunningGpus`.
 * - `Unschedulable`: no live tracker of the queue can ever run a task of its size or GPU request
 *   (the trackers' sweep marks the size; the task ends `dead` if none comes, unless it was
 *   submitted `waitForCapacity`).
 * - `Preemption`: it is first in line and a tracker is stopping running tasks of lower priority
 *   for it (core's lua/preempt.lua). Before `Reservation`: a preemption reserves too.
 * - `Reservation`: it is first in line and a tracker's GPUs are reserved for it (the backfill
 *   reservation of core's lua/take.lua): squeue's word for a job waiting for reserved resources.
 * - `Resources`: it is first in line and waits for free GPUs (or a tracker is taking it now).
 * - `Priority`: tasks of a higher priority go before it, or older tasks of its own standing do.
 * - `FairShare`: tasks of its priority whose tenants used less of the queue (per weight) go first.
 *
 * And the two queue hashes that say more about the first in line, read as the API sees them.
 */
import type { WaitStanding } from './queue-positions.js';

export const WAIT_REASONS = [
  'Priority',
  'FairShare',
  'Quota',
  'Resources',
  'Reservation',
  'Preemption',
  'Unschedulable',
  'BeginTime',
  'Dependency',
] as const;
export type WaitReason = (typeof WAIT_REASONS)[number];

/** What the reason of a queued task is decided from. */
export interface WaitFacts {
  now: number;
  /** The task it was submitted after (the record's `after`), else null. */
  after: string | null;
  /** The end of its retry backoff while it is in one (the task hash's `notBefore`), else null. */
  notBefore: number | null;
  /** The GPUs it asks for. */
  gpus: number;
  /** The GPUs its tenant's running tasks hold in the queue now. */
  runningGpus: number;
  /** Its tenant's running-GPU quota in the queue, as the trackers enforce it; null: none. */
  maxRunningGpus: number | null;
  /** The queue's trackers found none that can run a task of its size. */
  unschedulable: boolean;
  /** Where it stands among the waiting tasks; null when it is in no wait set. */
  standing: WaitStanding | null;
  /** A tracker is stopping lower-priority tasks for it now (a live `preemptions` entry). */
  preempting: boolean;
  /** The queue's backfill reservation is this task's. */
  reserved: boolean;
}

export function waitReason(f: WaitFacts): WaitReason {
  // Held by enqueue.lua: in no wait set and in no backoff (a retry later sets notBefore).
  if (f.after !== null && f.standing === null && f.notBefore === null) return 'Dependency';
  if (f.notBefore !== null && (f.notBefore > f.now || f.standing === null)) return 'BeginTime';
  if (f.maxRunningGpus !== null && f.runningGpus + f.gpus > f.maxRunningGpus) return 'Quota';
  if (f.unschedulable) return 'Unschedulable';
  if (f.standing === null || f.standing.position === 0) {
    if (f.preempting) return 'Preemption';
    if (f.reserved) return 'Reservation';
    return 'Resources';
  }
  if (f.standing.higherPriority > 0) return 'Priority';
  if (f.standing.fairShare > 0) return 'FairShare';
  return 'Priority';
}

/** At or past this, a reservation's `at` means "unknown" (take.lua writes 9e15 for it). */
export const UNKNOWN_AT = 9e15;

/** What the queue's `reservation` hash (HGETALL; {} when none) says about task `id`. */
export function reservationOf(
  hash: Readonly<Record<string, string>>,
  id: string,
): { reserved: boolean; at: number | null } {
  if (hash.task !== id) return { reserved: false, at: null };
  // An empty or garbled `at` counts as unknown, like take.lua's tonumber() failing.
  const at = hash.at ? Number(hash.at) : NaN;
  return { reserved: true, at: Number.isFinite(at) && at < UNKNOWN_AT ? at : null };
}

/**
 * Whether a `preemptions` entry (`<tracker>,<until ms>`; null when none) is live at `now`. One
 * whose time is over stays until a preemption cleans it (lua/preempt.lua), so it is read as none.
 * The tracker's liveness, which the scripts check too, is left out: it costs a read per view, and
 * a dead tracker's entry ends by its `until` anyway.
 */
export function preemptionLive(entry: string | null, now: number): boolean {
  // The tracker is everything before the last comma, as preempt.lua's pattern `^(.*),(%d+)$`.
  const match = entry === null ? null : /,(\d+)$/.exec(entry);
  return match !== null && Number(match[1]) > now;
}
