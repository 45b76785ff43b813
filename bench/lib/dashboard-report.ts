/**
 * The tables bench/dashboard.ts prints: the first page's bytes, the fleet page's first paint and
 * the API's CPU with a dashboard open, each beside issue 21's limit (kB = 1000 bytes).
 */
import type { FirstPageAssets } from './dashboard-assets.js';
import type { PaintSample } from './dashboard-browser.js';
import type { PhaseSummary, ReadCost } from './dashboard-cpu.js';
import { fmt, median } from './stats.js';

export const LIMITS = { compressedKB: 250, paintMs: 1000, cpuPct: 5 } as const;

const kB = (bytes: number): string => fmt(bytes / 1000, 1);
const verdict = (ok: boolean): string => (ok ? '**within the limit**' : '**over the limit**');

export function sizeTable(
  size: FirstPageAssets,
  served: Map<string, { encoding: string; bytes: number }>,
): string[] {
  const statics = size.assets.filter((a) => a.loadedBy === 'static import').length;
  const worst = Math.max(size.total.gzip, size.total.brotli);
  return [
    `Dashboard's first page: ${size.assets.length} files (${statics} chunks imported statically); ` +
      `${size.lazy.length} chunks only imported dynamically, not counted (${size.lazy
        .map((l) => `${l.path} ${l.bytes} B`)
        .join(', ')})`,
    '| asset | loaded by | raw kB | gzip kB | brotli kB | the API sends (accept-encoding: gzip, br) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...size.assets.map((a) => {
      const s = served.get(a.path);
      return (
        `| ${a.path} | ${a.loadedBy} | ${kB(a.bytes)} | ${kB(a.gzip)} | ${kB(a.brotli)} | ` +
        `${s ? `${s.encoding}, ${kB(s.bytes)} kB` : '—'} |`
      );
    }),
    `| total (limit ≤ ${LIMITS.compressedKB} kB compressed) | | ${kB(size.total.bytes)} | ` +
      `${kB(size.total.gzip)} | ${kB(size.total.brotli)} | ${verdict(worst <= LIMITS.compressedKB * 1000)} |`,
  ];
}

export interface PaintFigures {
  warmUp: PaintSample;
  rounds: PaintSample[];
}

export function paintTable(p: PaintFigures, shape: string): string[] {
  const cols: Array<[string, (s: PaintSample) => number | null]> = [
    ['first contentful paint', (s) => s.fcpMs],
    ['grid in the DOM ms', (s) => s.gridMs],
    ['grid rendered (frame done)', (s) => s.gridFrameMs],
    ['HTML answered', (s) => s.htmlMs],
    ['/v1/me answered', (s) => s.meMs],
    ['/v1/trackers answered', (s) => s.trackersMs],
  ];
  const values = (pick: (s: PaintSample) => number | null): number[] =>
    p.rounds.map(pick).filter((v): v is number => v !== null);
  const row = (name: string, f: (v: number[]) => number): string =>
    `| ${name} | ${cols.map(([, pick]) => fmt(f(values(pick)), 0)).join(' | ')} |`;
  const worst = Math.max(...values((s) => s.fcpMs), ...values((s) => s.gridFrameMs));
  return [
    `Fleet page, ${shape}, Chromium headless 1280×800, signed in, a fresh context (cold cache) each ` +
      `round, ms from navigation start, ${p.rounds.length} rounds after a warm-up load`,
    `| ms from navigation start | ${cols.map(([name]) => name).join(' | ')} |`,
    `| --- | ${cols.map(() => '---').join(' | ')} |`,
    row('median', median),
    row('max', (v) => (v.length ? Math.max(...v) : NaN)),
    `| warm-up (the browser's first page) | ${cols.map(([, pick]) => fmt(pick(p.warmUp), 0)).join(' | ')} |`,
    `| limit | ≤ ${LIMITS.paintMs} | ≤ ${LIMITS.paintMs} | ≤ ${LIMITS.paintMs} | | | |`,
    `max of first paint and grid rendered: ${fmt(worst, 0)} ms: ${verdict(worst <= LIMITS.paintMs)}`,
  ];
}

const NAMES = { none: 'no page open', fleet: 'fleet page open', queues: 'queues page open' } as const;

export function cpuTable(phases: PhaseSummary[], reads: ReadCost[], heading: string): string[] {
  const over = (phase: PhaseSummary['phase']): number =>
    phases.find((p) => p.phase === phase)?.overNone?.median ?? NaN;
  const pct = (path: string): number => reads.find((r) => r.path === path)?.pctOfCore ?? NaN;
  const fleetPct = pct('/v1/trackers');
  const queuesPct = reads.filter((r) => r.path !== '/v1/trackers').reduce((a, r) => a + r.pctOfCore, 0);
  return [
    heading,
    '| phase | API CPU % of a core (median) | rounds | − no page, pp (median) | − no page, max | ' +
      'Redis CPU % | tasks/s | page API requests/s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...phases.map(
      (p) =>
        `| ${NAMES[p.phase]} | ${fmt(p.apiCpuPct, 2)} | ${p.apiCpuPctRounds.map((v) => fmt(v, 2)).join(', ')} | ` +
        `${p.overNone ? fmt(p.overNone.median, 2) : ''} | ${p.overNone ? fmt(p.overNone.max, 2) : ''} | ` +
        `${fmt(p.redisCpuPct, 2)} | ${fmt(p.tasksPerS, 1)} | ${p.phase === 'none' ? '' : fmt(p.pageRequestsPerS, 2)} |`,
    ),
    `| limit (a dashboard open) | | | ≤ ${LIMITS.cpuPct} | | | | |`,
    `fleet page − no page: ${fmt(over('fleet'), 2)} pp of a core (median): ` +
      `${verdict(over('fleet') <= LIMITS.cpuPct)}; queues page − no page: ${fmt(over('queues'), 2)} pp: ` +
      `${verdict(over('queues') <= LIMITS.cpuPct)}`,
    '',
    `API CPU per read of what the pages poll (${reads[0]?.reads ?? 0} reads each, no task running, idle CPU subtracted)`,
    '| read | API CPU ms per read | a page reads it every | % of a core |',
    '| --- | --- | --- | --- |',
    ...reads.map(
      (r) => `| GET ${r.path} | ${fmt(r.cpuMsPerRead, 2)} | ${r.everyS} s | ${fmt(r.pctOfCore, 2)} |`,
    ),
    `fleet page: ${fmt(fleetPct, 2)} % of a core, queues page: ${fmt(queuesPct, 2)} %: ` +
      `${verdict(Math.max(fleetPct, queuesPct) <= LIMITS.cpuPct)}`,
  ];
}
