/**
 * How long a task waited after a GPU came free for it, for bench/compare-fairness.ts and
 * compare-priority.ts: the delay from the *next free slot* (the first `exited` line, on any
 * tracker, at or after the task's submission: the first moment the fleet could have started it
 * had it been first in line) to its `spawned` line. A task that started before any such exit
 * found a GPU idle: its next free slot is its submission.
 */

export interface SlotDelay {
  /** The next free slot, epoch ms. */
  freeAtMs: number;
  /** Start − next free slot, ms. */
  delayMs: number;
  /** Whether a GPU was idle at submission (no exit came between submission and start). */
  idleGpu: boolean;
}

/** `exitTimes`: every task's `exited` time (any order), epoch ms. */
export function slotDelay(exitTimes: readonly number[], submitMs: number, startMs: number): SlotDelay {
  let first = Infinity;
  for (const t of exitTimes) if (t >= submitMs && t < first) first = t;
  const idleGpu = first > startMs;
  const freeAtMs = idleGpu ? submitMs : first;
  return { freeAtMs, delayMs: startMs - freeAtMs, idleGpu };
}
