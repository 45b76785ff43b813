/**
 * The one module that owns executer subprocesses. Each runs with execa in its own process group
 * (a new session: `detached`), never through a shell, its stdout and stderr streamed to files
 * (and to `onOutput` for the live log) with back-pressure, so memory stays flat however much it
 * prints. Cancel, time limit, lost lease and shutdown kill the whole group: SIGTERM, then SIGKILL
 * after the grace. When the leader exits, whatever is left of its group is killed too.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { groupAlive, processStartTime, signalGroup } from './proc-info.js';
import { TailBuffer } from './tail-buffer.js';

export type KillReason = 'cancelled' | 'timed_out' | 'shutdown' | 'lease_lost';
export type OutputStream = 'stdout' | 'stderr';

export interface ExecuterProcessRequest {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  stdoutPath: string;
  stderrPath: string;
  timeLimitMs: number;
  killGraceMs: number;
  /** gpufleet-task-init, to lead the process group (null: run the program directly). */
  init: string | null;
  onOutput?: (stream: OutputStream, chunk: Buffer) => void;
}

export interface ExecuterProcessResult {
  exitCode: number | null;
  signal: string | null;
  /** Why the tracker killed it, if it did. */
  killedFor: KillReason | null;
  /** The process could not be started (ENOENT, EACCES...): the reason. */
  spawnError: string | null;
  stderrTail: string;
  durationMs: number;
}

export interface ExecuterProcess {
  pid: number | null;
  /** Start time of the group leader (see proc-info), to recognise it after a tracker restart. */
  pidStartTime: string | null;
  done: Promise<ExecuterProcessResult>;
  kill(reason: KillReason): void;
}

function pump(
  source: Readable | null,
  file: WriteStream,
  stream: OutputStream,
  req: ExecuterProcessRequest,
  tail?: TailBuffer,
): Promise<void> {
  if (!source) {
    file.end();
    return once(file, 'close').then(() => undefined);
  }
  source.on('data', (chunk: Buffer) => {
    tail?.push(chunk);
    req.onOutput?.(stream, chunk);
  });
  source.pipe(file);
  return once(file, 'close').then(() => undefined);
}

/** Why a process could not start, short: the error code and the system's words, not the command line. */
function describeSpawnError(result: { code?: string; originalMessage?: string; message?: string }): string {
  const words = (result.originalMessage || result.message || 'unknown error').split('\n')[0] ?? '';
  const reason =
    result.code === 'E2BIG'
      ? 'the command line is longer than the system allows (E2BIG); pass large values as input files'
      : words;
  return reason.length > 300 ? `${reason.slice(0, 300)}…` : reason;
}

export function startExecuterProcess(req: ExecuterProcessRequest): ExecuterProcess {
  const started = Date.now();
  const stderrTail = new TailBuffer();
  const stdoutFile = createWriteStream(req.stdoutPath);
  const stderrFile = createWriteStream(req.stderrPath);
  const [file, args] = req.init
    ? [req.init, [String(req.killGraceMs), req.file, ...req.args]]
    : [req.file, req.args];
  const child = execa(file, args, {
    cwd: req.cwd,
    env: req.env,
    extendEnv: false,
    detached: true,
    cleanup: false,
    buffer: false,
    reject: false,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    forceKillAfterDelay: false,
  });
  const pid = child.pid ?? null;
  const pidStartTime = pid === null ? null : processStartTime(pid);
  let killedFor: KillReason | null = null;
  let exited = false;
  let forceTimer: NodeJS.Timeout | undefined;

  const kill = (reason: KillReason): void => {
    if (exited || pid === null || killedFor !== null) return;
    killedFor = reason;
    signalGroup(pid, 'SIGTERM');
    forceTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), req.killGraceMs);
    forceTimer.unref();
  };
  const limitTimer = setTimeout(() => kill('timed_out'), req.timeLimitMs);
  limitTimer.unref();

  // A spawn that fails at once (E2BIG, ENOENT...) emits neither event: execa only settles its result.
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
    void child.then((r) => resolve({ code: r.exitCode ?? null, signal: r.signal ?? null }));
  });

  const done = (async (): Promise<ExecuterProcessResult> => {
    const pumps = Promise.all([
      pump(child.stdout, stdoutFile, 'stdout', req),
      pump(child.stderr, stderrFile, 'stderr', req, stderrTail),
    ]);
    const { code, signal } = await exit;
    exited = true;
    clearTimeout(limitTimer);
    clearTimeout(forceTimer);
    // No process outlives its task: whatever the leader left in its group goes now.
    if (pid !== null && groupAlive(pid)) signalGroup(pid, 'SIGKILL');
    const result = await child;
    await pumps;
    const spawnError =
      pid === null || (result.failed && result.exitCode === undefined && !result.signal)
        ? describeSpawnError(result)
        : null;
    return {
      exitCode: code,
      signal,
      killedFor,
      spawnError,
      stderrTail: stderrTail.lastLines(),
      durationMs: Date.now() - started,
    };
  })();

  return { pid, pidStartTime, done, kill };
}
