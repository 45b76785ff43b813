/**
 * Why a queued task waits, in SLURM's words (squeue's REASON), so that a person can tell "wait
 * your turn" from "this will never start as it is". The first rule that holds wins:
 *
 * - `BeginTime`: it waits out a retry backoff (until its `notBefore`, and until the sweep puts it
 *   back in line after that).
 * - `Quota`: its tenant's running tasks hold so many GPUs in the queue that this task's would pass
 *   the tenant's `maxRunningGpus`.
 * - `Unschedulable`: no live tracker of the queue can ever run a task of its size (the trackers'
 *   sweep marks the size; the task ends `dead` if none comes).
 * - `Resources`: it is first in line and waits for free GPUs (or a tracker is taking it now).
 * - `Priority`: tasks of a higher priority go before it, or older tasks of its own standing do.
 * - `FairShare`: tasks of its priority whose tenants used less of the queue (per weight) go first.
 */
import type { WaitStanding } from './queue-positions.js';

export const WAIT_REASONS = [
  'Priority',
  'FairShare',
  'Quota',
  'Resources',
  'Unschedulable',
  'BeginTime',
] as const;
export type WaitReason = (typeof WAIT_REASONS)[number];

/** What the reason of a queued task is decided from. */
export interface WaitFacts {
  now: number;
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
}

export function waitReason(f: WaitFacts): WaitReason {
  if (f.notBefore !== null && (f.notBefore > f.now || f.standing === null)) return 'BeginTime';
  if (f.maxRunningGpus !== null && f.runningGpus + f.gpus > f.maxRunningGpus) return 'Quota';
  if (f.unschedulable) return 'Unschedulable';
  if (f.standing === null || f.standing.position === 0) return 'Resources';
  if (f.standing.higherPriority > 0) return 'Priority';
  if (f.standing.fairShare > 0) return 'FairShare';
  return 'Priority';
}
