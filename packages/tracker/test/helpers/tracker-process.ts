/**
 * Trackers as separate processes, for fault tests: the built `gpufleet-tracker` bin (npm test
 * builds first) started with an environment, its NDJSON log lines collected, and helpers to
 * signal it, wait for one of its events (the `event` field of its log lines, see the tracker's
 * tracker-events.ts), wait for it to exit, and read its resource use from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { waitFor } from '@gpufleet/testkit';
import type { TrackerEventMap, TrackerEventName } from '@gpufleet/tracker';
import { procStatFields } from '../../src/process/proc-info.js';
import { FIXTURE_EXECUTERS } from './fleet.js';

export const TRACKER_BIN = fileURLToPath(new URL('../../dist/bin/gpufleet-tracker.js', import.meta.url));

export interface TrackerProcessOptions {
  redisUrl: string;
  prefix: string;
  name: string;
  artifactDir: string;
  workDir: string;
  env?: Record<string, string>;
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A log line that records tracker event `K`: its name as `event`, most of its payload as fields. */
export type EventLine<K extends TrackerEventName> = LogLine & { event: K } & Partial<TrackerEventMap[K]>;

export class TrackerProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(readonly options: TrackerProcessOptions) {
    if (!existsSync(TRACKER_BIN)) throw new Error(`${TRACKER_BIN} is missing: build first (npm run build)`);
    this.child = spawn(process.execPath, [TRACKER_BIN], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        REDIS_URL: options.redisUrl,
        REDIS_CONSUMER_NAME: options.name,
        GPUFLEET_PREFIX: options.prefix,
        ARTIFACT_STORE: options.artifactDir,
        GPUFLEET_WORKDIR: options.workDir,
        GPUFLEET_EXECUTERS: FIXTURE_EXECUTERS,
        GPUFLEET_GPUS: 'none',
        GPUFLEET_CPU_SLOTS: '2',
        GPUFLEET_LEASE_MS: '3000',
        GPUFLEET_SWEEP_MS: '500',
        GPUFLEET_KILL_GRACE_MS: '1000',
        GPUFLEET_SHUTDOWN_GRACE_MS: '1000',
        GPUFLEET_BLOCK_MS: '1000',
        LOG_LEVEL: 'info',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.logs.push({ level: 30, msg: line });
      }
    });
    createInterface({ input: this.child.stderr! }).on('line', (line) => this.stderr.push(line));
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /**
   * Resolves once this process has registered in the queue's registry (whatever its log level,
   * and even if it has died since); rejects at once, with its stderr, if it exits before that.
   */
  async started(client: Redis, trackersKey: string): Promise<void> {
    const outcome = await waitFor(
      async () => {
        const raw = await client.hget(trackersKey, this.options.name);
        if (raw !== null && (JSON.parse(raw) as { pid: number }).pid === this.pid) return 'registered';
        return this.child.exitCode !== null || this.child.signalCode !== null ? 'exited' : null;
      },
      {
        timeoutMs: 15_000,
        message: `tracker ${this.options.name} did not start: ${this.stderr.join('\n')} ${JSON.stringify(this.logs.slice(-5))}`,
      },
    );
    if (outcome === 'exited') {
      const how = this.child.signalCode ?? `code ${this.child.exitCode}`;
      throw new Error(
        `tracker ${this.options.name} exited (${how}) before it started: ${this.stderr.join('\n')}`,
      );
    }
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** The log lines so far that record tracker event `name`. */
  eventLines<K extends TrackerEventName>(name: K): Array<EventLine<K>> {
    return this.logs.filter((line): line is EventLine<K> => line.event === name);
  }

  /** The first log line that records tracker event `name` (and passes `predicate`), once there is one. */
  async waitForEvent<K extends TrackerEventName>(
    name: K,
    predicate: (line: EventLine<K>) => boolean = () => true,
    timeoutMs = 15_000,
  ): Promise<EventLine<K>> {
    return waitFor(() => this.eventLines(name).find(predicate), {
      timeoutMs,
      message: `no ${name} event from ${this.options.name}`,
    });
  }

  /** Peak resident memory (VmHWM) and CPU time (user + system, ms) from /proc. */
  usage(): { peakRssBytes: number; rssBytes: number; cpuMs: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = (field: string): number =>
      Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
    const fields = procStatFields(this.pid) ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { peakRssBytes: kb('VmHWM'), rssBytes: kb('VmRSS'), cpuMs: (ticks * 1000) / 100 };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

export async function startTrackerProcess(
  options: TrackerProcessOptions,
  client: Redis,
  trackersKey: string,
): Promise<TrackerProcess> {
  const tracker = new TrackerProcess(options);
  await tracker.started(client, trackersKey);
  return tracker;
}

/** Whether a process with this pid is still alive (zombies of our own children count as gone). */
export function processAlive(pid: number): boolean {
  const state = procStatFields(pid)?.[0];
  return state !== undefined && state !== 'Z';
}
