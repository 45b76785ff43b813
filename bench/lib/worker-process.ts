/**
 * Workers as separate processes, for crash recovery, cancel and memory: the built
 * `gpufleet-tracker` bin (as packages/tracker/test/helpers/tracker-process.ts runs it), or
 * bench/lib/bullmq-worker.ts under tsx. Each stdout line is parsed as JSON (pino's NDJSON, or the
 * BullMQ worker's events) and kept with the moment it arrived here, so both systems are observed
 * the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { benchTaskInit } from './gpufleet.js';
import { BENCH_EXECUTERS } from './programs.js';
import { preciseNow } from './bullmq-processor.js';

const TRACKER_BIN = fileURLToPath(
  new URL('../../packages/tracker/dist/bin/gpufleet-tracker.js', import.meta.url),
);
const BULL_WORKER = fileURLToPath(new URL('./bullmq-worker.ts', import.meta.url));
/** tsx as a loader in the worker's own process (its CLI would run the script in a child process). */
const TSX_LOADER = import.meta.resolve('tsx');

export interface Line {
  at: number;
  [key: string]: unknown;
}

export class WorkerProcess {
  readonly lines: Line[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<void>;
  private readonly child: ChildProcess;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly name: string,
    command: string[],
    env: Record<string, string>,
    /** false: keep only the last 100 lines (a long run's logs). */
    keepLines = true,
  ) {
    const [file = process.execPath, ...args] = command;
    this.child = spawn(file, args, {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (text) => {
      try {
        this.lines.push({ ...(JSON.parse(text) as object), at: preciseNow() });
      } catch {
        this.lines.push({ msg: text, at: preciseNow() });
      }
      if (!keepLines && this.lines.length > 100) this.lines.shift();
      for (const listener of this.listeners) listener();
    });
    createInterface({ input: this.child.stderr! }).on('line', (line) => this.stderr.push(line));
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /**
   * The first line (already seen or to come) that matches; rejects after `timeoutMs`, or at once
   * when `signal` aborts (the caller no longer waits: its timer must not keep the process alive).
   */
  waitForLine(match: (line: Line) => boolean, timeoutMs = 30_000, signal?: AbortSignal): Promise<Line> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const line = this.lines.find(match);
        if (line) {
          cleanup();
          resolve(line);
        }
        return Boolean(line);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `${this.name}: no such line in ${timeoutMs} ms; stderr: ${this.stderr.slice(-5).join('\n')}`,
          ),
        );
      }, timeoutMs);
      const abandon = (): void => {
        cleanup();
        reject(new Error(`${this.name}: no longer waiting for the line`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        signal?.removeEventListener('abort', abandon);
      };
      const listener = (): void => void check();
      this.listeners.add(listener);
      if (check()) return;
      if (signal?.aborted) abandon();
      else signal?.addEventListener('abort', abandon);
    });
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 3000): Promise<void> {
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface TrackerOptions {
  redisUrl: string;
  prefix: string;
  name: string;
  dir: string;
  cpuSlots: number;
  /** GPUFLEET_* overrides (lease, sweep...); nothing = the defaults. */
  env?: Record<string, string>;
  keepLines?: boolean;
}

export async function startTracker(options: TrackerOptions): Promise<WorkerProcess> {
  if (!existsSync(TRACKER_BIN)) throw new Error(`${TRACKER_BIN} is missing: build first (npx tsc -b)`);
  const env = {
    REDIS_URL: options.redisUrl,
    REDIS_CONSUMER_NAME: options.name,
    GPUFLEET_PREFIX: options.prefix,
    ARTIFACT_STORE: `${options.dir}/artifacts`,
    GPUFLEET_WORKDIR: `${options.dir}/work-${options.name}`,
    GPUFLEET_EXECUTERS: BENCH_EXECUTERS.join(':'),
    GPUFLEET_GPUS: 'none',
    GPUFLEET_CPU_SLOTS: String(options.cpuSlots),
    GPUFLEET_TASK_INIT: (await benchTaskInit()) ?? 'off',
    LOG_LEVEL: 'info',
    ...options.env,
  };
  const tracker = new WorkerProcess(options.name, [process.execPath, TRACKER_BIN], env, options.keepLines);
  await tracker.waitForLine((l) => l.event === 'started');
  return tracker;
}

export interface BullWorkerOptions {
  redisUrl: string;
  queue: string;
  name: string;
  concurrency: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Print a line per job (spawned, completed, failed). */
  events?: boolean;
  /** Subscribe to `jobs.<queue>.cancel` on BullMQ's Relay and cancel the job named there. */
  relay?: boolean;
}

export async function startBullWorker(options: BullWorkerOptions): Promise<WorkerProcess> {
  const env: Record<string, string> = {
    REDIS_URL: options.redisUrl,
    BENCH_QUEUE: options.queue,
    BENCH_CONCURRENCY: String(options.concurrency),
    BENCH_EVENTS: options.events ? '1' : '',
    BENCH_RELAY: options.relay ? '1' : '',
  };
  if (options.lockDurationMs !== undefined) env.BENCH_LOCK_MS = String(options.lockDurationMs);
  if (options.stalledIntervalMs !== undefined) env.BENCH_STALLED_MS = String(options.stalledIntervalMs);
  const worker = new WorkerProcess(
    options.name,
    [process.execPath, '--import', TSX_LOADER, BULL_WORKER],
    env,
    options.events,
  );
  await worker.waitForLine((l) => l.event === 'ready');
  return worker;
}
