/**
 * The API for bench/dashboard.ts as a process of its own, as it runs in production: the built
 * `gpufleet-api` bin (packages/api/dist/bin, `npm run build`) started with its whole configuration
 * in the environment, in a folder of its own (so no `.env` is read), single-token mode (an admin
 * key), request logs at `info` as NDJSON on its stdout (read here and dropped, as a log shipper
 * would). Its CPU time is read from /proc (cpu.ts).
 *
 * It serves a snapshot of the built dashboard that `snapshotDashboard` copied at the start
 * (GPUFLEET_DASHBOARD_DIR), not packages/dashboard/dist itself, so that a rebuild by anyone else
 * during the run (on a shared checkout) does not change what is measured; `startApiProcess`
 * checks that `/` serves the snapshot's index.html.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { cpuSample } from './cpu.js';
import { ROOT } from './report.js';

export const API_BIN = `${ROOT}packages/api/dist/bin/gpufleet-api.js`;

export interface ApiProcess {
  url: string;
  pid: number;
  /** Its user + system CPU time so far, ms. */
  cpuMs(): number;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s. */
  stop(): Promise<void>;
}

/** Copies the built dashboard (packages/dashboard/dist) under `dir`; returns the copy. */
export function snapshotDashboard(dir: string): string {
  mkdirSync(`${dir}/dashboard`, { recursive: true });
  cpSync(`${ROOT}packages/dashboard/dist`, `${dir}/dashboard/dist`, { recursive: true });
  return `${dir}/dashboard/dist`;
}

export interface ApiProcessOptions {
  redisUrl: string;
  prefix: string;
  /** Its working folder and artifact store's parent. */
  dir: string;
  /** GPUFLEET_API_TOKEN: the one (admin) key. */
  token: string;
  /** snapshotDashboard's folder: the dashboard the API serves. */
  dashboardDist: string;
}

export async function startApiProcess(options: ApiProcessOptions): Promise<ApiProcess> {
  if (!existsSync(API_BIN)) throw new Error(`${API_BIN} is missing: build first (npm run build)`);
  const child = spawn(process.execPath, [API_BIN], {
    cwd: options.dir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      REDIS_URL: options.redisUrl,
      GPUFLEET_PREFIX: options.prefix,
      ARTIFACT_STORE: `${options.dir}/artifacts`,
      GPUFLEET_API_HOST: '127.0.0.1',
      GPUFLEET_API_PORT: '0',
      GPUFLEET_API_TOKEN: options.token,
      LOG_LEVEL: 'info',
      GPUFLEET_DASHBOARD_DIR: options.dashboardDist,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start gpufleet-api');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stderr: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`gpufleet-api did not listen: ${stderr.join('\n')}`)),
      20_000,
    );
    lines.on('line', (line) => {
      if (!line.includes('gpufleet API listening')) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`gpufleet-api exited before it listened: ${stderr.join('\n')}`));
    });
  });
  const index = await fetch(`${url}/`).then((r) => r.text());
  if (index !== readFileSync(`${options.dashboardDist}/index.html`, 'utf8')) {
    child.kill('SIGKILL');
    throw new Error('gpufleet-api does not serve the dashboard snapshot (GPUFLEET_DASHBOARD_DIR)');
  }
  return {
    url,
    pid,
    cpuMs: () => cpuSample(pid).otherMs,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
