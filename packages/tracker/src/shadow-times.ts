/**
 * A tracker's shadow times, for backfill (core's take): for each size it can run, when its running
 * tasks, ending by their time limits, leave that many GPUs free (now when they are free now). The
 * take reserves the first task in line on the tracker whose shadow time for it comes first, and
 * that tracker starts later tasks only if their time limits end them by then.
 */

/** A running task's GPUs and when its time limit ends it (ms). */
export interface ExpectedEnd {
  gpus: number;
  endMs: number;
  /** Which GPUs (for the GPU groups of the tasks with a GPU request, gpu/gpu-groups.ts). */
  gpuIds?: readonly number[];
}

/** When `gpus` GPUs are free, given `free` free now and the running tasks' ends; null: never. */
export function shadowTime(
  gpus: number,
  free: number,
  ends: readonly ExpectedEnd[],
  now: number,
): number | null {
  if (gpus <= free) return now;
  let available = free;
  for (const end of [...ends].sort((a, b) => a.endMs - b.endMs)) {
    available += end.gpus;
    if (available >= gpus) return Math.max(now, end.endMs);
  }
  return null;
}
