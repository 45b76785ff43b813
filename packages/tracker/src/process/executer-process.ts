/**
 * The one module that owns executer subprocesses. Each runs in its own process group,
 * never through a shell, with its stdout and stderr written by the process itself straight into
 * the task's log files; the tracker follows those files for the live log (`onOutput`) and hashes
 * them as it goes, so memory stays flat however much the process prints and nothing is copied
 * twice. Processes are started by the spawner (gpufleet-task-init, see spawner.ts), or with Node's
 * spawn where there is none. Cancel, time limit, lost lease, shutdown and a GPU fault kill the
 * whole group: SIGTERM, then SIGKILL after the grace (a preemption's own grace:
 * GPUFLEET_PREEMPT_GRACE_MS). When the leader exits, whatever is left of its group is killed too.
 */
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { preciseNow } from './clock.js';
import { groupAlive, processStartTime, signalGroup } from './proc-info.js';
import type { LogFileSummary } from './log-file-reader.js';
import { followLogs, type LogFollow, type OutputStream } from './log-follow.js';
import type { ProcessExit, Spawner } from './spawner.js';

/**
 * Why the tracker kills a process; `gpu_error`: a GPU it runs on failed (gpu/gpu-health.ts);
 * `service_restart`, `service_stop`: a service is restarted, or ended by its lifetime
 * (service/service-run.ts).
 */
export type KillReason =
  | 'cancelled'
  | 'timed_out'
  | 'shutdown'
  | 'lease_lost'
  | 'preempted'
  | 'gpu_error'
  | 'service_restart'
  | 'service_stop';
export type { OutputStream } from './log-follow.js';

export { FOLLOW_MS } from './log-follow.js';

export interface ExecuterProcessRequest {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  stdoutPath: string;
  stderrPath: string;
  timeLimitMs: number;
  killGraceMs: number;
  /** The tracker's spawner (null: start the program with Node's spawn). */
  spawner: Spawner | null;
  onOutput?: (stream: OutputStream, chunk: Buffer) => void;
}

export interface ExecuterProcessResult {
  exitCode: number | null;
  signal: string | null;
  /** Why the tracker killed it, if it did. */
  killedFor: KillReason | null;
  /** The process could not be started (ENOENT, EACCES...): the reason. */
  spawnError: string | null;
  /** The spawner died while the process ran, so it was killed (or its SLURM job was lost): the reason. */
  infraError: string | null;
  /** The failure code of `infraError`; default SPAWNER_DIED. */
  infraCode?: 'SPAWNER_DIED' | 'SLURM_JOB_FAILED';
  stderrTail: string;
  durationMs: number;
  /** Size and sha256 of stdout.txt and stderr.txt as the process left them. */
  logs: { stdout: LogFileSummary; stderr: LogFileSummary };
  /**
   * It ended for a reason that is not the task's (a SLURM job's node failed, SLURM preempted it):
   * the task goes back to the queue, the attempt not counted, with this reason.
   */
  handBack?: string;
}

export interface ExecuterProcess {
  pid: number | null;
  /** Start time of the group leader (see proc-info), to recognise it after a tracker restart. */
  pidStartTime: string | null;
  /** When the program started (epoch ms, sub-ms precise; null if it never did). */
  spawnedAt: number | null;
  /**
   * Settles with the exit code when the process has ended (before its log files are read to the
   * end), and when that was (epoch ms, sub-ms precise).
   */
  ended: Promise<{ exitCode: number | null; at: number }>;
  done: Promise<ExecuterProcessResult>;
  /** SIGTERM to the group, then SIGKILL after `graceMs` (default: the request's killGraceMs). */
  kill(reason: KillReason, graceMs?: number): void;
}

type Started =
  | { ok: true; pid: number; pidStartTime: string | null; at: number; exit: Promise<ProcessExit> }
  | { ok: false; reason: string; code?: string };

/** Why a process could not start, short: the error code and the system's words, not the command line. */
function describeSpawnError(code: string | undefined, message: string): string {
  const words = (message || 'unknown error').split('\n')[0] ?? '';
  const reason =
    code === 'E2BIG'
      ? 'the command line is longer than the system allows (E2BIG); pass large values as input files'
      : words;
  return reason.length > 300 ? `${reason.slice(0, 300)}…` : reason;
}

/** Starts the program with Node's spawn, its output going straight into the log files. */
async function spawnDirectly(req: ExecuterProcessRequest): Promise<Started> {
  const [out, err] = await Promise.all([open(req.stdoutPath, 'w'), open(req.stderrPath, 'w')]);
  try {
    const child = spawn(req.file, req.args, {
      cwd: req.cwd,
      env: req.env,
      detached: true,
      stdio: ['ignore', out.fd, err.fd],
    });
    const exit = new Promise<ProcessExit>((resolve) =>
      child.once('exit', (exitCode, signal) => resolve({ exitCode, signal, at: preciseNow() })),
    );
    if (child.pid !== undefined) {
      const pid = child.pid;
      // No process outlives its task: whatever the leader left in its group goes with it.
      const exitAndSweep = exit.then((result) => {
        if (groupAlive(pid)) signalGroup(pid, 'SIGKILL');
        return result;
      });
      return { ok: true, pid, pidStartTime: processStartTime(pid), at: preciseNow(), exit: exitAndSweep };
    }
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => child.once('error', resolve));
    return { ok: false, reason: error.message, code: error.code };
  } catch (error) {
    const { message, code } = error as NodeJS.ErrnoException;
    return { ok: false, reason: message, code };
  } finally {
    await Promise.all([out.close(), err.close()]);
  }
}

function spawnRequestOf(req: ExecuterProcessRequest): Promise<Started> {
  if (!req.spawner) return spawnDirectly(req);
  return req.spawner.spawn({
    file: req.file,
    args: req.args,
    cwd: req.cwd,
    env: req.env,
    stdoutPath: req.stdoutPath,
    stderrPath: req.stderrPath,
  });
}

/** Resolves once the process runs (or could not be started); `done` settles when it has ended. */
export async function startExecuterProcess(req: ExecuterProcessRequest): Promise<ExecuterProcess> {
  const startedAt = Date.now();
  const started = await spawnRequestOf(req);
  // Made after the request is sent, off the way to the spawn; nothing is read before the process runs.
  const logs = followLogs(req, req.onOutput, { start: false });
  const finishLogs = (): ReturnType<LogFollow['finish']> => logs.finish();
  if (!started.ok) {
    const finished = await finishLogs();
    const done = Promise.resolve({
      exitCode: null,
      signal: null,
      killedFor: null,
      spawnError: describeSpawnError(started.code, started.reason),
      infraError: null,
      stderrTail: logs.stderrTail(),
      durationMs: Date.now() - startedAt,
      logs: finished,
    });
    const ended = Promise.resolve({ exitCode: null, at: preciseNow() });
    return { pid: null, pidStartTime: null, spawnedAt: null, ended, done, kill: () => undefined };
  }

  const { pid } = started;
  let killedFor: KillReason | null = null;
  let exited = false;
  let forceTimer: NodeJS.Timeout | undefined;
  let forceAt = Infinity;
  // The first kill's reason stands; a later one with a sooner SIGKILL (a shutdown during a
  // preemption's long grace) brings the SIGKILL forward.
  const kill = (reason: KillReason, graceMs = req.killGraceMs): void => {
    if (exited || Date.now() + graceMs >= forceAt) return;
    if (killedFor === null) {
      killedFor = reason;
      signalGroup(pid, 'SIGTERM');
    }
    forceAt = Date.now() + graceMs;
    clearTimeout(forceTimer);
    forceTimer = setTimeout(() => !exited && signalGroup(pid, 'SIGKILL'), graceMs);
    forceTimer.unref();
  };
  const limitTimer = setTimeout(() => kill('timed_out'), req.timeLimitMs);
  limitTimer.unref();
  // The live log: the files are read while the process runs (a short one ends before the first read).
  logs.start();

  const done = (async (): Promise<ExecuterProcessResult> => {
    const { exitCode, signal, lostSpawner } = await started.exit;
    exited = true;
    clearTimeout(limitTimer);
    clearTimeout(forceTimer);
    const finished = await finishLogs();
    return {
      exitCode,
      signal,
      killedFor,
      spawnError: null,
      infraError: lostSpawner ? 'gpufleet-task-init (the spawner) died, so the process was killed' : null,
      stderrTail: logs.stderrTail(),
      durationMs: Date.now() - startedAt,
      logs: finished,
    };
  })();
  const ended = started.exit.then((exit) => ({ exitCode: exit.exitCode, at: exit.at ?? preciseNow() }));
  return { pid, pidStartTime: started.pidStartTime, spawnedAt: started.at, ended, done, kill };
}
