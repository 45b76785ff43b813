/**
 * The smoke test's check of bench:slurm's results file (bench/smoke.test.ts, `figures`): where SLURM
 * could not run, the reason it gave; else bounds so loose that only a broken run fails them.
 */
import { expect } from 'vitest';

interface Latency {
  n: number;
  p50: number;
  p90: number;
  min: number;
}

interface Trace {
  makespanMs: number;
  utilisation: number;
  bigTasks: number;
}

/** What the check reads of bench/slurm.ts's results file. */
interface SlurmResult {
  unavailable?: string;
  samples: number;
  tasks: number;
  boundMs: number;
  latency: Record<'sbatch' | 'sbatchNoExport' | 'backend' | 'pilot', Latency>;
  trace: Record<'slurm' | 'gpufleet' | 'oldestFirst' | 'easy', { figures: Trace }>;
  times: Record<'slurm' | 'gpufleet', Array<{ submitMs: number; startMs: number; endMs: number }>>;
}

/**
 * bench:slurm: every path has its samples, each start after its submission and p90 ≥ p50; both
 * runs of the trace ran every task, each start after its submission and before its end, no
 * makespan under the lower bound, utilisation in (0, 1].
 */
export function slurmFigures(raw: unknown): void {
  const r = raw as SlurmResult;
  if (r.unavailable !== undefined) {
    expect(r.unavailable).toMatch(/root|missing/);
    return;
  }
  for (const path of Object.values(r.latency)) {
    expect(path.n).toBe(r.samples);
    expect(path.min).toBeGreaterThan(0);
    expect(path.p90).toBeGreaterThanOrEqual(path.p50);
  }
  for (const run of [r.trace.slurm.figures, r.trace.gpufleet.figures]) {
    expect(run.makespanMs).toBeGreaterThanOrEqual(r.boundMs * 0.95);
    expect(run.utilisation).toBeGreaterThan(0);
    expect(run.utilisation).toBeLessThanOrEqual(1.05);
    expect(run.bigTasks).toBe(r.trace.easy.figures.bigTasks);
  }
  for (const times of [r.times.slurm, r.times.gpufleet]) {
    expect(times).toHaveLength(r.tasks);
    for (const t of times) {
      expect(t.startMs).toBeGreaterThanOrEqual(t.submitMs);
      expect(t.endMs).toBeGreaterThanOrEqual(t.startMs);
    }
  }
}
