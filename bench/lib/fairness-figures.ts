/**
 * The figures of one run of bench/compare-fairness.ts, from each task's times (log lines and
 * records, all epoch ms on one clock): tenant A queues a backlog, tenant B arrives later. The
 * *contended period* runs from B's first submission to the first moment one of the two has
 * nothing left waiting (a tenant stops waiting when its last task starts); inside it, each
 * tenant's share of the busy GPU-time (each task's [start, exit] clipped to the period) is set
 * against its target, its weight over the total weight.
 */
import { slotDelay } from './slot-delay.js';

export type TenantLabel = 'A' | 'B';

export interface TenantTaskTimes {
  tenant: TenantLabel;
  gpus: number;
  submitMs: number;
  startMs: number;
  /** `exited`: its GPUs are free. */
  endMs: number;
  /** `completed`. */
  doneMs: number;
}

export interface FairnessFigures {
  /** B's first start − the next free slot after B's first submission (bench/lib/slot-delay.ts). */
  bFirstDelayMs: number;
  /** Whether a GPU was idle when B's first task came (then the delay is from its submission). */
  bFirstIdleGpu: boolean;
  /** B's first start − B's first submission. */
  bFirstWaitMs: number;
  /** The contended period, ms after A's first submission; lengthMs 0 when there was none. */
  contended: { fromMs: number; toMs: number; lengthMs: number; endedBy: TenantLabel };
  /** Share of the busy GPU-time inside the contended period, 0–1; NaN without a period. */
  share: Record<TenantLabel, number>;
  /** weight / total weight, 0–1; NaN when both ran as one tenant. */
  target: Record<TenantLabel, number>;
  /** (B's share − B's target) × 100: percentage points (A's is the opposite). */
  deviationPp: number;
  /** A's first submission → the last task done. */
  makespanMs: number;
}

const of = (tasks: readonly TenantTaskTimes[], tenant: TenantLabel): TenantTaskTimes[] =>
  tasks.filter((t) => t.tenant === tenant);

/** `weights`: A's and B's, or null when both ran as one tenant (oldest-first). */
export function fairnessFigures(
  tasks: readonly TenantTaskTimes[],
  weights: Record<TenantLabel, number> | null,
): FairnessFigures {
  const a = of(tasks, 'A');
  const b = of(tasks, 'B');
  if (a.length === 0 || b.length === 0) throw new Error('fairness figures need tasks of both tenants');
  const origin = Math.min(...a.map((t) => t.submitMs));
  const bSubmit = Math.min(...b.map((t) => t.submitMs));
  const bFirstStart = Math.min(...b.map((t) => t.startMs));
  const free = slotDelay(
    tasks.map((t) => t.endMs),
    bSubmit,
    bFirstStart,
  );

  const aLastStart = Math.max(...a.map((t) => t.startMs));
  const bLastStart = Math.max(...b.map((t) => t.startMs));
  const to = Math.max(bSubmit, Math.min(aLastStart, bLastStart));
  const busy = (list: readonly TenantTaskTimes[]): number =>
    list.reduce(
      (sum, t) => sum + t.gpus * Math.max(0, Math.min(t.endMs, to) - Math.max(t.startMs, bSubmit)),
      0,
    );
  const busyA = busy(a);
  const busyB = busy(b);
  const total = busyA + busyB;
  const share = { A: total > 0 ? busyA / total : NaN, B: total > 0 ? busyB / total : NaN };
  const sum = weights ? weights.A + weights.B : NaN;
  const target = weights ? { A: weights.A / sum, B: weights.B / sum } : { A: NaN, B: NaN };
  return {
    bFirstDelayMs: free.delayMs,
    bFirstIdleGpu: free.idleGpu,
    bFirstWaitMs: bFirstStart - bSubmit,
    contended: {
      fromMs: bSubmit - origin,
      toMs: to - origin,
      lengthMs: to - bSubmit,
      endedBy: aLastStart <= bLastStart ? 'A' : 'B',
    },
    share,
    target,
    deviationPp: (share.B - target.B) * 100,
    makespanMs: Math.max(...tasks.map((t) => t.doneMs)) - origin,
  };
}
