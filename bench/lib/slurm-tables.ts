/**
 * bench/slurm.ts's two tables on stdout: submit → start by path with the ratios to sbatch alone,
 * and the mixed trace through SLURM's scheduler, through a gpufleet pilot and simulated (exact
 * durations, no overhead: strictly oldest-first, and EASY backfill) with their ratios to SLURM's.
 */
import type { ScheduleFigures } from './schedule-figures.js';
import type { LatencyFigures } from './slurm-latency.js';
import type { StartFigures } from './slurm-trace.js';
import { fmt } from './stats.js';

/** The latency paths, as the table heads them. */
export const LATENCY_PATHS = {
  sbatch: 'sbatch alone',
  sbatchNoExport: 'sbatch --export=NONE',
  backend: 'gpufleet backend (tracker → sbatch)',
  pilot: 'gpufleet pilot (tracker in a SLURM job)',
} as const;
export type LatencyPath = keyof typeof LATENCY_PATHS;

/** One trace column: its figures and how long its submission took (null: simulated). */
export interface TraceColumn {
  figures: ScheduleFigures;
  submitSpanMs: number | null;
  /** Through SLURM: the jobs its main scheduler and its backfill started. */
  startedBy?: { main: number; backfill: number };
  starts: StartFigures;
}

const TRACE_COLUMNS = {
  slurm: 'SLURM sched/backfill',
  gpufleet: 'gpufleet pilot',
  oldestFirst: 'simulated oldest-first',
  easy: 'simulated EASY backfill',
} as const;

function table<K extends string, F>(
  rows: Record<string, (f: F) => string>,
  columns: Record<K, string>,
  cells: Record<K, F>,
): Record<string, Record<string, string>> {
  const keys = Object.keys(columns) as K[];
  return Object.fromEntries(
    Object.entries(rows).map(([row, cell]) => [
      row,
      Object.fromEntries(keys.map((k) => [columns[k], cell(cells[k])])),
    ]),
  );
}

export function printLatency(figures: Record<LatencyPath, LatencyFigures>): void {
  const base = figures.sbatch;
  const rows: Record<string, (f: LatencyFigures) => string> = {
    'submit → start p50 ms': (f) => fmt(f.p50, 0),
    'submit → start p90 ms': (f) => fmt(f.p90, 0),
    'min / max ms': (f) => `${fmt(f.min, 0)} / ${fmt(f.max, 0)}`,
    'p50 / sbatch alone': (f) => fmt(f.p50 / base.p50, 2),
    'p90 / sbatch alone': (f) => fmt(f.p90 / base.p90, 2),
    'submitting call p50 ms (sbatch / enqueue)': (f) => fmt(f.submitCallP50, 1),
    samples: (f) => String(f.n),
  };
  console.table(table(rows, LATENCY_PATHS, figures));
}

export function printTrace(columns: Record<keyof typeof TRACE_COLUMNS, TraceColumn>, boundMs: number): void {
  const slurm = columns.slurm.figures;
  const { bigGpus, bigTasks } = columns.easy.figures;
  const s = (ms: number): string => fmt(ms / 1000, 2);
  const big = `${bigGpus}-GPU tasks (${bigTasks})`;
  const rows: Record<string, (c: TraceColumn) => string> = {
    'makespan s': (c) => s(c.figures.makespanMs),
    'makespan / SLURM': (c) => fmt(c.figures.makespanMs / slurm.makespanMs, 3),
    'lower bound s: max(GPU-s / GPUs, longest)': () => s(boundMs),
    'makespan / bound': (c) => fmt(c.figures.makespanMs / boundMs, 3),
    'utilisation: busy GPU-s / (GPUs × makespan)': (c) => fmt(c.figures.utilisation, 3),
    'utilisation / SLURM': (c) => fmt(c.figures.utilisation / slurm.utilisation, 3),
    'submission span s': (c) => (c.submitSpanMs === null ? '—' : s(c.submitSpanMs)),
    'tasks started ahead of an earlier one': (c) => String(c.starts.startedAhead),
    'start − the last end before it p50 / p90 ms': (c) =>
      `${fmt(c.starts.handOverP50Ms, 0)} / ${fmt(c.starts.handOverP90Ms, 0)}`,
    'jobs started by main scheduler / backfill': (c) =>
      c.startedBy ? `${c.startedBy.main} / ${c.startedBy.backfill}` : '—',
    [`${big}: wait max s`]: (c) => s(c.figures.bigWaitMaxMs),
    [`${big}: wait p50 s`]: (c) => s(c.figures.bigWaitP50Ms),
  };
  console.table(table(rows, TRACE_COLUMNS, columns));
}
