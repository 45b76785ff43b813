/**
 * The tracker's side of gpufleet-task-init (native/task-init.c): one long-lived spawner process
 * that starts every executer in its own process group, with stdout and stderr going
 * straight into the task's log files, and reports each start and exit. It kills every group it
 * started when the tracker dies, however it dies. Compared with Node's spawn, the tracker neither
 * forks itself nor waits for an exec: it writes one request on a pipe.
 *
 * If the spawner dies, the processes it was watching are killed (the tracker cannot see their
 * exits any more) and end as killed by SIGKILL; the next spawn starts a new spawner, after a
 * backoff when it keeps dying.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { backoffMs, type Logger } from '@gpufleet/core';
import { epochOfMonotonicUs } from './clock.js';
import { signalGroup } from './proc-info.js';

export interface SpawnRequest {
  file: string;
  args: readonly string[];
  cwd: string;
  env: Readonly<Record<string, string>>;
  stdoutPath: string;
  stderrPath: string;
}

export interface ProcessExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the spawner died and the process was killed for it. */
  lostSpawner?: boolean;
  /** When the end was seen (epoch ms, sub-ms precise): by the spawner when it reaped the process. */
  at?: number;
}

export type SpawnResult =
  | {
      ok: true;
      pid: number;
      pidStartTime: string | null;
      /** When the exec went through (epoch ms, sub-ms precise), by the spawner's clock. */
      at: number;
      exit: Promise<ProcessExit>;
    }
  | { ok: false; reason: string; code?: string };

interface Pending {
  resolveStart: (result: SpawnResult) => void;
  resolveExit?: (exit: ProcessExit) => void;
  pid?: number;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, num]) => [num, name as NodeJS.Signals]),
);

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(constants.errno).map(([name, num]) => [num, name]),
);

const MAX_RESTART_DELAY_MS = 5000;

export class Spawner {
  private child: ChildProcess | null = null;
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private closed = false;
  private failures = 0;
  private startedAt = 0;
  private restartAt = 0;

  constructor(
    private readonly path: string,
    private readonly graceMs: number,
    private readonly logger: Logger,
  ) {}

  /** Starts a process; resolves once it runs (with its exit to come) or could not be started. */
  async spawn(req: SpawnRequest): Promise<SpawnResult> {
    if (this.closed) return { ok: false, reason: 'the tracker is shutting down' };
    const wait = this.restartAt - Date.now();
    if (!this.child && wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const child = this.child ?? this.launch();
    const id = String(this.nextId++);
    const env = Object.entries(req.env).map(([key, value]) => `${key}=${value}`);
    const fields = ['spawn', id, req.cwd, req.stdoutPath, req.stderrPath, String(1 + req.args.length)];
    const text = [...fields, req.file, ...req.args, ...env].join('\0') + '\0';
    const length = Buffer.byteLength(text);
    const message = Buffer.allocUnsafe(4 + length); // the length, then the strings: one buffer, one write
    message.writeUInt32LE(length, 0);
    message.write(text, 4);
    return new Promise<SpawnResult>((resolveStart) => {
      this.pending.set(id, { resolveStart });
      child.stdin?.write(message);
    });
  }

  private launch(): ChildProcess {
    const child = spawn(this.path, ['--serve', String(this.graceMs)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      // Its own session: a terminal's Ctrl-C reaches the tracker, which decides what to stop.
      detached: true,
    });
    this.child = child;
    this.startedAt = Date.now();
    child.stdin?.on('error', () => undefined); // a dead spawner is handled at its exit
    // Lines split by hand: readline's decoder and events cost more than the reply itself.
    let partial = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.onLine(line);
    });
    child.once('error', (error) => {
      this.logger.error({ err: error, path: this.path }, 'could not start gpufleet-task-init');
      this.onGone(child);
    });
    child.once('exit', (code, signal) => {
      if (!this.closed)
        this.logger.error({ code, signal }, 'gpufleet-task-init exited; its processes are killed');
      this.onGone(child);
    });
    return child;
  }

  private onLine(line: string): void {
    const [kind, id = '', ...rest] = line.split(' ');
    const entry = this.pending.get(id);
    if (!entry) return;
    if (kind === 's') {
      const pid = Number(rest[0]);
      const exit = new Promise<ProcessExit>((resolve) => (entry.resolveExit = resolve));
      entry.pid = pid;
      const pidStartTime = rest[1] === '-' ? null : (rest[1] ?? null);
      entry.resolveStart({ ok: true, pid, pidStartTime, at: epochOfMonotonicUs(rest[2]), exit });
    } else if (kind === 'f') {
      this.pending.delete(id);
      const [errno, ...words] = rest;
      entry.resolveStart({ ok: false, reason: words.join(' '), code: ERRNO_NAMES.get(Number(errno)) });
    } else if (kind === 'x') {
      this.pending.delete(id);
      const code = Number(rest[0]);
      const signal = Number(rest[1]);
      entry.resolveExit?.({
        exitCode: code >= 0 ? code : null,
        signal: signal > 0 ? (SIGNAL_NAMES.get(signal) ?? 'SIGKILL') : null,
        at: epochOfMonotonicUs(rest[2]),
      });
    }
  }

  /** The spawner is gone: what it watched is killed and ends; what waited to start fails. */
  private onGone(child: ChildProcess): void {
    if (this.child !== child) return;
    this.child = null;
    if (Date.now() - this.startedAt < 1000) this.failures++;
    else this.failures = 0;
    // One that keeps dying at once is started again after a growing pause, never in a tight loop.
    this.restartAt =
      this.failures > 0 ? Date.now() + backoffMs(this.failures + 1, 100, MAX_RESTART_DELAY_MS) : 0;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const entry of pending) {
      if (entry.pid === undefined) {
        entry.resolveStart({ ok: false, reason: 'gpufleet-task-init exited before starting the process' });
        continue;
      }
      signalGroup(entry.pid, 'SIGKILL');
      entry.resolveExit?.({ exitCode: null, signal: 'SIGKILL', lostSpawner: true });
    }
  }

  /** Ends the spawner (after the tracker's tasks ended: it kills any group still alive). */
  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin?.end();
    await exited;
  }
}
