/**
 * The API as a separate process, for lifecycle tests: the built `gpufleet-api` bin (npm test
 * builds first) started with an environment in a folder of its own (so no `.env` is read), its
 * NDJSON log lines collected, and helpers to signal it and to wait for it to listen or exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@gpufleet/testkit';

export const API_BIN = fileURLToPath(new URL('../../dist/bin/gpufleet-api.js', import.meta.url));

export interface ApiProcessOptions {
  redisUrl: string;
  prefix: string;
  artifactDir: string;
  /** The working folder (the bin reads `.env` from it when there is one). */
  cwd: string;
  /** GPUFLEET_API_TOKEN. */
  token: string;
  env?: Record<string, string>;
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ApiProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<ProcessExit>;
  #exit: ProcessExit | null = null;
  readonly #child: ChildProcess;

  constructor(options: ApiProcessOptions) {
    if (!existsSync(API_BIN)) throw new Error(`${API_BIN} is missing: build first (npm run build)`);
    this.#child = spawn(process.execPath, [API_BIN], {
      cwd: options.cwd,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        REDIS_URL: options.redisUrl,
        GPUFLEET_PREFIX: options.prefix,
        ARTIFACT_STORE: options.artifactDir,
        GPUFLEET_API_PORT: '0',
        GPUFLEET_API_TOKEN: options.token,
        LOG_LEVEL: 'info',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.logs.push({ level: 30, msg: line });
      }
    });
    createInterface({ input: this.#child.stderr! }).on('line', (line) => this.stderr.push(line));
    this.exited = new Promise((resolve) =>
      this.#child.once('exit', (code, signal) => resolve((this.#exit = { code, signal }))),
    );
  }

  /** The URL it listens on, once it says so; rejects (with its output) if it exits first. */
  async listening(): Promise<string> {
    const outcome = await waitFor(
      () => this.logs.find((l) => l.msg === 'gpufleet API listening') ?? (this.#exit && 'exited'),
      { timeoutMs: 15_000, message: `gpufleet-api listening: ${this.output()}` },
    );
    if (outcome === 'exited') throw new Error(`gpufleet-api exited before it listened: ${this.output()}`);
    return outcome['url'] as string;
  }

  async waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    return waitFor(() => this.logs.find(predicate), { timeoutMs, message: 'a gpufleet-api log line' });
  }

  signal(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  /** How it exited, or null if it is still running after `ms`. */
  async exitWithin(ms: number): Promise<ProcessExit | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(resolve, ms, null)));
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Its stderr and last log lines, for failure messages. */
  output(): string {
    return `${this.stderr.join('\n')}\n${this.logs
      .slice(-10)
      .map((l) => JSON.stringify(l))
      .join('\n')}`;
  }

  /** Kills it (SIGKILL) unless it has exited. */
  async stop(): Promise<void> {
    if (this.#exit) return;
    this.#child.kill('SIGKILL');
    await this.exited;
  }
}
