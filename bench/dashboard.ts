/**
 * The dashboard's three figures of issue 21, each beside its limit, in one run:
 * 1. Size: the JavaScript and CSS of the first page, compressed: every script and stylesheet the
 *    built packages/dashboard/dist/index.html loads and the chunks they import statically, gzip
 *    (level 9) and brotli (quality 11) by Node's zlib (bench/lib/dashboard-assets.ts); and what the
 *    API actually sends for each. Limit ≤ 250 kB.
 * 2. First paint: the fleet page of `--trackers` × `--gpus` GPUs (registrations written to Redis as
 *    a real tracker writes them, with each GPU's inventory and usage sample, 60 % of the GPUs
 *    running a task; bench/lib/dashboard-fleet.ts) with `--waiting` tasks waiting, the API on
 *    loopback serving the built dashboard, Chromium headless at 1280×800, already signed in:
 *    first-contentful-paint, the moment all GPU cells are in the DOM and the end of the frame that
 *    renders them, from navigation start, over `--rounds` cold loads after a warm-up load
 *    (bench/lib/dashboard-browser.ts). No task runs meanwhile; the trackers heartbeat. Limit ≤ 1 s.
 * 3. API CPU: the API process's CPU (/proc) while the fleet runs `--rate` tasks a second (enqueue,
 *    take, set running, complete, from this process through core's protocol functions), in phases
 *    of `--seconds` with no page, the fleet page and the queues page open, `--rounds` rounds in
 *    rotating order (bench/lib/dashboard-cpu.ts); and, steadier, the API's CPU per read of each
 *    route the pages poll (100 reads, no task running) times how often they poll it. Limit: an
 *    open dashboard ≤ 5 % of a core.
 * The API runs as its own process (the built `gpufleet-api` bin, bench/lib/dashboard-api.ts) on a
 * redis-server this script starts (testkit), serving a copy of the built dashboard taken at the
 * start (so that another build meanwhile cannot change it). Run after `npm run build` (the script
 * does).
 * Usage: npm run bench:dashboard -- [--dry-run] [--trackers 20] [--gpus 8] [--waiting 10000]
 *   [--rate 50] [--seconds 20] [--rounds 5]
 * Tiny size: --trackers 2 --gpus 2 --waiting 20 --rate 10 --seconds 2 --rounds 1.
 * Writes bench/results/dashboard.json.
 */
import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { launchChromium, makeTempDir, removeDir, startRedis } from '@gpufleet/testkit';
import { firstPageAssets, servedEncoding } from './lib/dashboard-assets.js';
import { snapshotDashboard, startApiProcess, type ApiProcess } from './lib/dashboard-api.js';
import { firstPaint, pageProblems, type PaintSample } from './lib/dashboard-browser.js';
import { readCosts, runCpuPhases, summarizePhases } from './lib/dashboard-cpu.js';
import { BenchFleet } from './lib/dashboard-fleet.js';
import { cpuTable, LIMITS, paintTable, sizeTable } from './lib/dashboard-report.js';
import { exitIfDryRun, intFlag, progress, ROOT, runInfo, writeResult } from './lib/report.js';

const { values } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    trackers: { type: 'string', default: '20' },
    gpus: { type: 'string', default: '8' },
    waiting: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '5' },
  },
});
const TRACKERS = Math.max(1, intFlag(values, 'trackers'));
const GPUS = Math.max(1, intFlag(values, 'gpus'));
const WAITING = intFlag(values, 'waiting');
const RATE = Math.max(1, intFlag(values, 'rate'));
const SECONDS = Math.max(1, intFlag(values, 'seconds'));
const ROUNDS = Math.max(1, intFlag(values, 'rounds'));
exitIfDryRun(values, 'dashboard');

const DIST = `${ROOT}packages/dashboard/dist`;
/** GPUFLEET_API_TOKEN: the one admin key, the dashboard's sign-in key. */
const TOKEN = 'bench-dashboard-key-5f0c2a9d41e7b386';
const BUSY_SHARE = 0.6;
/** Reads of each polled route for the API's CPU per read. */
const READS = 100;
/** How long the drive runs before the first CPU window (one phase's length): the API settles in. */
const DRIVE_WARM_UP_MS = Math.max(3000, SECONDS * 1000);

if (!existsSync(`${DIST}/index.html`))
  throw new Error(`${DIST}/index.html is missing: run npm run build first`);

const server = await startRedis();
const redis = server.client();
const dir = await makeTempDir('gpufleet-bench-dashboard-');
const fleet = new BenchFleet(redis, 'dash', { trackers: TRACKERS, gpus: GPUS, busyShare: BUSY_SHARE });
let api: ApiProcess | null = null;
let browser: Browser | null = null;
try {
  const info = await runInfo(redis);
  // What the API serves all run long: a copy (another build may replace dist/ meanwhile).
  const dist = snapshotDashboard(dir);
  const size = firstPageAssets(dist);
  progress(`fleet: ${TRACKERS} trackers × ${GPUS} GPUs, ${WAITING} tasks waiting`);
  await fleet.setUp(WAITING, progress);
  const started = await startApiProcess({
    redisUrl: server.url,
    prefix: 'dash',
    dir,
    token: TOKEN,
    dashboardDist: dist,
  });
  api = started;
  progress(`API (pid ${api.pid}) at ${api.url}`);
  const served = new Map(
    await Promise.all(
      size.assets.map(async (a) => [a.path, await servedEncoding(started.url, a.path)] as const),
    ),
  );
  // The fleet page's answer, as big as the fleet: what each of its reads carries.
  const answer = await fetch(`${api.url}/v1/trackers`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const trackersBytes = (await answer.arrayBuffer()).byteLength;
  browser = await launchChromium();
  info.versions['chromium'] = browser.version();

  const cells = fleet.gpuCount;
  progress(`first paint: a warm-up load, then ${ROUNDS} rounds`);
  const warmUp = await firstPaint(browser, api.url, TOKEN, cells);
  const paints: PaintSample[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const sample = await firstPaint(browser, api.url, TOKEN, cells);
    progress(
      `  round ${round + 1}: FCP ${sample.fcpMs?.toFixed(0)} ms, grid ${sample.gridMs.toFixed(0)} ms ` +
        `(${sample.cells} cells)`,
    );
    paints.push(sample);
  }

  progress(`API CPU: ${RATE} tasks/s, ${ROUNDS} rounds of 3 phases of ${SECONDS} s`);
  fleet.startDrive(RATE);
  await delay(DRIVE_WARM_UP_MS);
  const samples = await runCpuPhases({
    browser,
    url: api.url,
    key: TOKEN,
    api,
    redisPid: server.pid,
    fleet,
    seconds: SECONDS,
    rounds: ROUNDS,
    progress,
  });
  await fleet.stopDrive();
  const phases = summarizePhases(samples);
  progress(`API CPU per read: ${READS} reads of each`);
  const reads = await readCosts(api, api.url, TOKEN, READS);

  const shape =
    `${TRACKERS} trackers × ${GPUS} GPUs (${cells} cells, GET /v1/trackers ` +
    `${(trackersBytes / 1000).toFixed(1)} kB), ${WAITING} tasks waiting`;
  const tables = [
    ...sizeTable(size, served),
    '',
    ...paintTable({ warmUp, rounds: paints }, shape),
    '',
    ...cpuTable(
      phases,
      reads,
      `API process CPU, ${shape}, the fleet running ${RATE} tasks/s; ${ROUNDS} rounds of three ` +
        `${SECONDS} s phases in rotating order`,
    ),
  ];
  process.stdout.write(`${tables.join('\n')}\n`);
  for (const problem of [...fleet.errors, ...pageProblems]) progress(`problem: ${problem}`);
  await writeResult('dashboard', info, {
    settings: {
      trackers: TRACKERS,
      gpus: GPUS,
      waiting: WAITING,
      rate: RATE,
      seconds: SECONDS,
      rounds: ROUNDS,
    },
    limits: LIMITS,
    size: { ...size, served: Object.fromEntries(served) },
    paint: { cells, trackersBytes, warmUp, rounds: paints },
    cpu: { phases, samples, reads },
    drive: { started: fleet.started, completed: fleet.completed, errors: fleet.errors },
    pageProblems,
  });
} finally {
  await browser?.close();
  await fleet.close();
  await api?.stop();
  redis.disconnect();
  await server.stop();
  await removeDir(dir);
}
