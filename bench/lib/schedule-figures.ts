/**
 * The figures of a schedule, for bench/compare-scheduling.ts, the same whether the times were
 * measured on a fleet or simulated (bench/lib/schedule-sim.ts): makespan, GPU utilisation, the
 * lower bound on the makespan, and how long the biggest tasks waited.
 */
import { median } from './stats.js';
import type { TraceTask } from './scheduling-trace.js';

/** One task's times, ms on one clock. */
export interface TaskTimes {
  gpus: number;
  submitMs: number;
  /** The program started. */
  startMs: number;
  /** The program ended: its GPUs are free. */
  endMs: number;
  /** The task's end was written (after endMs); missing: endMs. */
  doneMs?: number;
}

export interface ScheduleFigures {
  /** The first submission → the last task done. */
  makespanMs: number;
  /** Σ GPUs × (end − start). */
  busyGpuMs: number;
  /** busy GPU-time / (all GPUs × makespan). */
  utilisation: number;
  /** The most GPUs a task asks for; the waits below are of the tasks of that size. */
  bigGpus: number;
  bigTasks: number;
  /** Submission → start of the biggest tasks: the longest and the median. */
  bigWaitMaxMs: number;
  bigWaitP50Ms: number;
}

/**
 * No schedule of `trace` on `totalGpus` GPUs ends before max(GPU-time / GPUs, the longest task).
 * (Tasks also cannot span trackers, so the true optimum may lie above it.)
 */
export function makespanBoundMs(trace: readonly TraceTask[], totalGpus: number): number {
  const gpuMs = trace.reduce((sum, t) => sum + t.gpus * t.durationMs, 0);
  return Math.max(gpuMs / totalGpus, ...trace.map((t) => t.durationMs), 0);
}

export function scheduleFigures(times: readonly TaskTimes[], totalGpus: number): ScheduleFigures {
  const first = Math.min(...times.map((t) => t.submitMs));
  const last = Math.max(...times.map((t) => t.doneMs ?? t.endMs));
  const makespanMs = times.length > 0 ? last - first : 0;
  const busyGpuMs = times.reduce((sum, t) => sum + t.gpus * (t.endMs - t.startMs), 0);
  const bigGpus = Math.max(0, ...times.map((t) => t.gpus));
  const waits = times.filter((t) => t.gpus === bigGpus).map((t) => t.startMs - t.submitMs);
  return {
    makespanMs,
    busyGpuMs,
    utilisation: makespanMs > 0 ? busyGpuMs / (totalGpus * makespanMs) : NaN,
    bigGpus,
    bigTasks: waits.length,
    bigWaitMaxMs: waits.length > 0 ? Math.max(...waits) : NaN,
    bigWaitP50Ms: median(waits),
  };
}
