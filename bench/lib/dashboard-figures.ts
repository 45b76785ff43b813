/**
 * The smoke test's check of bench:dashboard's results file (bench/smoke.test.ts, `figures`): bounds
 * so loose that only a broken run fails them.
 */
import { expect } from 'vitest';

/** What bench:dashboard's figures check reads of its results file (bench/dashboard.ts). */
interface DashboardResult {
  size: { assets: Array<{ loadedBy: string }>; total: { bytes: number; gzip: number; brotli: number } };
  paint: {
    cells: number;
    rounds: Array<{ fcpMs: number | null; gridMs: number; gridFrameMs: number; cells: number }>;
  };
  cpu: { phases: Array<{ phase: string; apiCpuPct: number; tasksPerS: number }> };
  drive: { errors: string[] };
  pageProblems: string[];
}

/**
 * bench:dashboard: the first page loads a script, compressed smaller than raw; each load showed
 * every GPU cell, after a first paint; the three CPU phases ran with tasks going through the queue
 * and the API using some CPU but not every core; no drive or page errors.
 */
export function dashboardFigures(raw: unknown): void {
  const r = raw as DashboardResult;
  expect(r.size.assets.some((a) => a.loadedBy === 'script')).toBe(true);
  expect(r.size.total.gzip).toBeGreaterThan(0);
  expect(r.size.total.gzip).toBeLessThan(r.size.total.bytes);
  expect(r.size.total.brotli).toBeLessThan(r.size.total.bytes);
  expect(r.paint.rounds.length).toBeGreaterThan(0);
  for (const p of r.paint.rounds) {
    expect(p.cells).toBe(r.paint.cells);
    expect(p.fcpMs).toBeGreaterThan(0);
    expect(p.gridFrameMs).toBeGreaterThanOrEqual(p.gridMs);
  }
  expect(r.cpu.phases.map((p) => p.phase)).toEqual(['none', 'fleet', 'queues']);
  for (const p of r.cpu.phases) {
    expect(p.tasksPerS).toBeGreaterThan(0);
    expect(p.apiCpuPct).toBeGreaterThan(0);
    expect(p.apiCpuPct).toBeLessThan(100 * 4);
  }
  expect(r.drive.errors).toEqual([]);
  expect(r.pageProblems).toEqual([]);
}
