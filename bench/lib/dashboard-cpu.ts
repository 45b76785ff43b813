/**
 * Issue 21's CPU figure for bench/dashboard.ts: the API process's CPU while one dashboard page is
 * open, against the same fleet with none. The fleet's drive runs throughout (dashboard-fleet.ts,
 * started one phase's length before the first window); each round has three phases of `seconds`
 * each, in an order that rotates from round to round so that the VM's drift weighs on all of them: no page open (`none`), the fleet page open (`fleet`,
 * which reads GET /v1/trackers every 2 s) and the queues page open (`queues`: GET /v1/queues every
 * 5 s, the last hour every 15 s). A page is opened (a fresh context, signed in) and shown in full
 * before its phase's window starts, and closed after it, so a window holds only what an open page
 * costs, not its load. Per window: the API's user + system CPU (/proc) as % of one core, Redis's
 * likewise, the tasks the drive started per second, and the page's API requests.
 */
import type { Browser } from 'playwright-core';
import { setTimeout as delay } from 'node:timers/promises';
import type { ApiProcess } from './dashboard-api.js';
import { openSignedIn, pageProblems, waitForGrid, type OpenPage } from './dashboard-browser.js';
import { QUEUE, type BenchFleet } from './dashboard-fleet.js';
import { cpuSample } from './cpu.js';
import { median } from './stats.js';

export const PHASES = ['none', 'fleet', 'queues'] as const;
export type Phase = (typeof PHASES)[number];

export interface PhaseSample {
  round: number;
  phase: Phase;
  seconds: number;
  apiCpuPct: number;
  redisCpuPct: number;
  tasksPerS: number;
  /** The page's requests to /v1/… in the window, by path (none: no page). */
  pageRequests: Record<string, number>;
}

export interface CpuRunOptions {
  browser: Browser;
  url: string;
  key: string;
  api: ApiProcess;
  redisPid: number;
  fleet: BenchFleet;
  seconds: number;
  rounds: number;
  progress: (message: string) => void;
}

async function openPhase(phase: Phase, o: CpuRunOptions): Promise<OpenPage | null> {
  if (phase === 'none') return null;
  const open = await openSignedIn(o.browser, o.url, o.key, `#/${phase}`);
  try {
    if (phase === 'fleet') await waitForGrid(open.page, o.fleet.gpuCount);
    else await open.page.locator(`dl[aria-label="queue ${QUEUE} now"]`).waitFor();
  } catch (error) {
    // Say what the page showed instead.
    const text = await open.page
      .locator('body')
      .innerText({ timeout: 2000 })
      .catch(() => '?');
    await open.close();
    throw new Error(
      `the ${phase} page did not show: ${error instanceof Error ? error.message : String(error)}\n` +
        `it showed: ${text.slice(0, 600)}\nproblems: ${pageProblems.join('; ')}`,
    );
  }
  return open;
}

export async function runCpuPhases(o: CpuRunOptions): Promise<PhaseSample[]> {
  const samples: PhaseSample[] = [];
  for (let round = 0; round < o.rounds; round++) {
    const order = PHASES.map((_, i) => PHASES[(i + round) % PHASES.length] as Phase);
    for (const phase of order) {
      const open = await openPhase(phase, o);
      try {
        const firstRequest = open?.apiRequests.length ?? 0;
        const api0 = o.api.cpuMs();
        const redis0 = cpuSample(o.redisPid).otherMs;
        const tasks0 = o.fleet.started;
        const t0 = performance.now();
        await delay(o.seconds * 1000);
        const wallMs = performance.now() - t0;
        const apiMs = o.api.cpuMs() - api0;
        const redisMs = cpuSample(o.redisPid).otherMs - redis0;
        const pageRequests: Record<string, number> = {};
        for (const path of open?.apiRequests.slice(firstRequest) ?? [])
          pageRequests[path] = (pageRequests[path] ?? 0) + 1;
        const sample: PhaseSample = {
          round: round + 1,
          phase,
          seconds: wallMs / 1000,
          apiCpuPct: (100 * apiMs) / wallMs,
          redisCpuPct: (100 * redisMs) / wallMs,
          tasksPerS: ((o.fleet.started - tasks0) * 1000) / wallMs,
          pageRequests,
        };
        samples.push(sample);
        o.progress(
          `  round ${round + 1} ${phase.padEnd(6)} API ${sample.apiCpuPct.toFixed(2)} % · Redis ` +
            `${sample.redisCpuPct.toFixed(2)} % · ${sample.tasksPerS.toFixed(1)} tasks/s · ` +
            `page requests ${JSON.stringify(pageRequests)}`,
        );
      } finally {
        await open?.close();
      }
    }
  }
  return samples;
}

export interface PhaseSummary {
  phase: Phase;
  /** Median over the rounds, and each round's figure. */
  apiCpuPct: number;
  apiCpuPctRounds: number[];
  redisCpuPct: number;
  tasksPerS: number;
  /** The page's API requests a second (median). */
  pageRequestsPerS: number;
  /** Each round's API CPU minus that round's `none` phase (pp of a core): median, max, rounds. */
  overNone: { median: number; max: number; rounds: number[] } | null;
}

export function summarizePhases(samples: PhaseSample[]): PhaseSummary[] {
  const of = (phase: Phase): PhaseSample[] => samples.filter((s) => s.phase === phase);
  const none = new Map(of('none').map((s) => [s.round, s.apiCpuPct]));
  return PHASES.map((phase) => {
    const mine = of(phase);
    const requests = (s: PhaseSample): number =>
      Object.values(s.pageRequests).reduce((a, b) => a + b, 0) / s.seconds;
    const diffs = mine.map((s) => s.apiCpuPct - (none.get(s.round) ?? NaN));
    return {
      phase,
      apiCpuPct: median(mine.map((s) => s.apiCpuPct)),
      apiCpuPctRounds: mine.map((s) => s.apiCpuPct),
      redisCpuPct: median(mine.map((s) => s.redisCpuPct)),
      tasksPerS: median(mine.map((s) => s.tasksPerS)),
      pageRequestsPerS: median(mine.map(requests)),
      overNone: phase === 'none' ? null : { median: median(diffs), max: Math.max(...diffs), rounds: diffs },
    };
  });
}

export interface ReadCost {
  path: string;
  reads: number;
  /** The API's CPU per read, ms, less its CPU when idle over the same time. */
  cpuMsPerRead: number;
  /** How often an open page reads it (s), and what that comes to: % of a core. */
  everyS: number;
  pctOfCore: number;
}

/**
 * The API's CPU per read of what the pages poll, `reads` reads one after another with no task
 * running (its idle CPU over 2 s first, subtracted): a figure far steadier than the phases', whose
 * windows differ by ±1 pp whatever is open. With how often a page reads it, an open page's cost.
 */
export async function readCosts(
  api: ApiProcess,
  url: string,
  key: string,
  reads: number,
): Promise<ReadCost[]> {
  const polls: Array<[string, number]> = [
    ['/v1/trackers', 2],
    ['/v1/queues', 5],
    [`/v1/queues/${QUEUE}/history`, 15],
  ];
  const idle0 = api.cpuMs();
  const idleStart = performance.now();
  await delay(2000);
  const idlePerMs = (api.cpuMs() - idle0) / (performance.now() - idleStart);
  const costs: ReadCost[] = [];
  for (const [path, everyS] of polls) {
    const cpu0 = api.cpuMs();
    const t0 = performance.now();
    for (let i = 0; i < reads; i++) {
      const answer = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}` } });
      if (!answer.ok) throw new Error(`GET ${path}: HTTP ${answer.status}`);
      await answer.arrayBuffer();
    }
    const cpuMs = api.cpuMs() - cpu0 - idlePerMs * (performance.now() - t0);
    const cpuMsPerRead = cpuMs / reads;
    costs.push({ path, reads, cpuMsPerRead, everyS, pctOfCore: (100 * cpuMsPerRead) / 1000 / everyS });
  }
  return costs;
}
