/**
 * What every comparison records with its figures: the machine, its load, the date, the versions of
 * everything measured, the exact command; and where results go (`bench/results/<name>.json`, or
 * the folder GPUFLEET_BENCH_RESULTS_DIR names: the smoke test keeps its tiny runs out of bench/results).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The folder results are written to, ending in a slash. */
export const RESULTS = process.env.GPUFLEET_BENCH_RESULTS_DIR
  ? `${process.env.GPUFLEET_BENCH_RESULTS_DIR.replace(/\/$/, '')}/`
  : fileURLToPath(new URL('../results/', import.meta.url));

function versionOf(packageJson: string): string {
  try {
    return (JSON.parse(readFileSync(`${ROOT}${packageJson}`, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT }).toString().trim() !== '';
    return dirty ? `${head} + uncommitted changes` : head;
  } catch {
    return 'unknown';
  }
}

export interface RunInfo {
  date: string;
  command: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; kernel: string };
  /** 1, 5 and 15 minute load averages at the start and the end: other work on the machine. */
  loadAverage: { start: number[]; end?: number[] };
  versions: Record<string, string>;
}

export async function runInfo(redis: Redis): Promise<RunInfo> {
  const server = await redis.info('server');
  let kernel = 'unknown';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // not Linux
  }
  return {
    date: new Date().toISOString(),
    command: `npx tsx ${process.argv.slice(1).join(' ').replace(ROOT, '')}`,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      kernel,
    },
    loadAverage: { start: loadavg().map((l) => Number(l.toFixed(2))) },
    versions: {
      gpufleet: `${versionOf('packages/tracker/package.json')} (${gitCommit()})`,
      bullmq: versionOf('node_modules/bullmq/package.json'),
      ioredis: versionOf('node_modules/ioredis/package.json'),
      execa: versionOf('node_modules/execa/package.json'),
      redis: /redis_version:(\S+)/.exec(server)?.[1] ?? 'unknown',
    },
  };
}

/** Writes `bench/results/<name>.json` (with the end load average) and says where. */
export async function writeResult(name: string, info: RunInfo, result: unknown): Promise<void> {
  info.loadAverage.end = loadavg().map((l) => Number(l.toFixed(2)));
  await mkdir(RESULTS, { recursive: true });
  const file = `${RESULTS}${name}.json`;
  await writeFile(file, `${JSON.stringify({ ...info, result }, null, 2)}\n`);
  process.stderr.write(
    `load average ${info.loadAverage.start.join(' ')} → ${info.loadAverage.end.join(' ')}\n`,
  );
  process.stderr.write(`wrote ${file.replace(ROOT, '')}\n`);
}

/** Progress goes to stderr, so stdout holds only the table. */
export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Parses a positive integer flag, naming it when it is not one. */
export function intFlag(values: Record<string, string | boolean | undefined>, name: string): number {
  const raw = values[name];
  const n = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(n) || n < 0)
    throw new Error(`--${name} must be an integer ≥ 0 (got ${String(raw)})`);
  return n;
}

/** With --dry-run: prints what the script would run (its settings) and exits. */
export function exitIfDryRun(values: Record<string, string | boolean | undefined>, name: string): void {
  if (!values['dry-run']) return;
  const settings = Object.entries(values).filter(([k]) => k !== 'dry-run');
  process.stdout.write(
    `bench ${name} would run with ${settings.map(([k, v]) => `--${k} ${String(v)}`).join(' ')}\n`,
  );
  process.exit(0);
}
