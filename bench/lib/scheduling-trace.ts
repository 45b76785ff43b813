/**
 * The mixed GPU trace of bench/compare-scheduling.ts: `tasks` tasks of 1, 2, 4 and 8 GPUs (40, 25,
 * 20 and 15 % of them; sizes larger than one tracker's GPUs are left out and the others keep their
 * proportions) lasting 0.5–5 s in steps of 0.1 s, times `scale`, drawn from a seeded generator:
 * the same seed gives the same trace everywhere, so the fleet and the simulator run the same tasks.
 */
import { seededRandom } from './prng.js';

export interface TraceTask {
  /** GPUs the task asks for. */
  gpus: number;
  /** How long it runs (the sleep), ms. */
  durationMs: number;
}

export interface TraceOptions {
  tasks: number;
  seed: number;
  /** The most GPUs a task may ask for (one tracker's GPUs). */
  maxGpus: number;
  /** Multiplies every duration (1: 0.5–5 s). */
  scale?: number;
}

/** GPU counts of the mix and their weights. */
export const TRACE_MIX: ReadonlyArray<{ gpus: number; weight: number }> = [
  { gpus: 1, weight: 0.4 },
  { gpus: 2, weight: 0.25 },
  { gpus: 4, weight: 0.2 },
  { gpus: 8, weight: 0.15 },
];
export const MIN_DURATION_MS = 500;
export const MAX_DURATION_MS = 5000;

export function makeTrace(options: TraceOptions): TraceTask[] {
  const mix = TRACE_MIX.filter((m) => m.gpus <= options.maxGpus);
  if (mix.length === 0) throw new Error(`no task size of the mix fits ${options.maxGpus} GPUs`);
  const total = mix.reduce((sum, m) => sum + m.weight, 0);
  const scale = options.scale ?? 1;
  const next = seededRandom(options.seed);
  const steps = (MAX_DURATION_MS - MIN_DURATION_MS) / 100;
  return Array.from({ length: options.tasks }, () => {
    let pick = next() * total;
    const size = mix.find((m) => (pick -= m.weight) < 0) ?? (mix[mix.length - 1] as { gpus: number });
    const durationMs = MIN_DURATION_MS + Math.floor(next() * (steps + 1)) * 100;
    return { gpus: size.gpus, durationMs: Math.round(durationMs * scale) };
  });
}
