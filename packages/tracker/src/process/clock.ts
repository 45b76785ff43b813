/**
 * Sub-millisecond wall-clock times for task events, and the conversion of the spawner's
 * CLOCK_MONOTONIC readings into them.
 */

/** Epoch ms, sub-ms precise. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Epoch ms of a CLOCK_MONOTONIC reading in microseconds taken by another process (the spawner):
 * now, less how long ago that was on the same clock (process.hrtime reads CLOCK_MONOTONIC on
 * Linux). A reading that is missing or in the future counts as now.
 */
export function epochOfMonotonicUs(us: string | undefined): number {
  const nowUs = Number(process.hrtime.bigint() / 1000n);
  const then = Number(us);
  const ago = Number.isFinite(then) && then > 0 && then <= nowUs ? (nowUs - then) / 1000 : 0;
  return preciseNow() - ago;
}
