/**
 * An attempt's second phase: its executer process, from the spawn to its end. The process is
 * recorded on disk (pid and start time, so a restarted tracker can kill it) and then in the task
 * hash; its output goes live to the task's log stream; the tracker hears when it started and when
 * it ended (the `spawned` and `exited` events: its GPUs are free at that moment, before its logs
 * are read to the end).
 */
import { hostname } from 'node:os';
import { setTaskStatus, type Claim, type Logger } from '@gpufleet/core';
import { preciseNow } from '../process/clock.js';
import {
  startExecuterProcess,
  type ExecuterProcessResult,
  type KillReason,
} from '../process/executer-process.js';
import { LogPublisher } from './log-publisher.js';
import { removePidRecord, writePidRecord } from '../process/pid-files.js';
import type { ProcessSpec } from './attempt-prepare.js';
import type { TaskFolder } from './task-folder.js';
import type { TaskExecutionDeps } from './attempt-types.js';
import { eventField } from '../tracker-events.js';

export interface AttemptProcessHooks {
  logger: Logger;
  /** Retries a Redis write through an outage (until the tracker gives up at shutdown). */
  retry: <T>(what: string, op: () => Promise<T>) => Promise<T>;
  /** Called once the process can be killed, with its kill; a kill asked for earlier is passed on. */
  killable: (kill: (reason: KillReason, graceMs?: number) => void) => void;
  /** The process has ended: its slots may be freed. */
  exited: () => void;
  /** Clean-ups to await after the task is complete (the pid record's removal). */
  cleanups: Array<Promise<unknown>>;
  /** Sees the output as it is read (a service's stdout readiness check). */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
}

export async function runAttemptProcess(
  deps: TaskExecutionDeps,
  claim: Claim,
  folder: TaskFolder,
  spec: ProcessSpec,
  limits: { timeLimitMs: number; executer: string; gpuIds: readonly number[] },
  hooks: AttemptProcessHooks,
): Promise<ExecuterProcessResult> {
  const { logger } = hooks;
  const live = new LogPublisher({
    redis: deps.redis,
    key: deps.keys.log(claim.taskId),
    logger,
    outage: deps.outage,
  });
  const proc = await startExecuterProcess({
    file: spec.file,
    args: spec.args,
    cwd: folder.root,
    env: spec.env,
    stdoutPath: folder.stdoutPath,
    stderrPath: folder.stderrPath,
    timeLimitMs: limits.timeLimitMs,
    killGraceMs: deps.killGraceMs,
    spawner: deps.spawner,
    onOutput: (stream, chunk) => {
      live.write(stream, chunk);
      hooks.onOutput?.(stream, chunk);
    },
  });
  deps.spares?.refill(); // after the spawn, not on its way
  hooks.killable(proc.kill);
  const pidRecord = {
    taskId: claim.taskId,
    attempt: claim.attempt,
    pid: proc.pid ?? 0,
    pidStartTime: proc.pidStartTime,
  };
  // Written while the process runs (not awaited first: a short program ends meanwhile); removed after.
  const pidWritten =
    proc.pid === null
      ? Promise.resolve()
      : writePidRecord(deps.pidDir, pidRecord).catch((error: unknown) =>
          logger.warn({ err: error }, 'could not write the pid record'),
        );
  const attempt = { taskId: claim.taskId, attempt: claim.attempt };
  const { gpuIds, executer } = limits;
  deps.emit('spawned', { ...attempt, pid: proc.pid, at: proc.spawnedAt ?? preciseNow(), gpuIds, executer });
  logger.info({ pid: proc.pid, gpuIds, executer, ...eventField('spawned') }, 'executer started');
  logger.debug({ argv: [spec.file, ...spec.args] }, 'executer command line');
  const fields = {
    pid: proc.pid,
    pidStartTime: proc.pidStartTime,
    host: hostname(),
    gpuIds: JSON.stringify(limits.gpuIds),
  };
  // After the pid file: whoever sees the pid in Redis may rely on a restart finding the file.
  const recorded = pidWritten
    .then(() =>
      hooks.retry('record pid', () =>
        setTaskStatus(deps.redis, deps.keys, claim, 'running', deps.now(), fields),
      ),
    )
    .catch((error: unknown) => logger.warn({ err: error }, 'could not record the process id'));
  // The GPUs are free the moment the process ends, before its logs are read to the end.
  void proc.ended.then(({ exitCode, at }) => {
    deps.emit('exited', { ...attempt, exitCode, at });
    hooks.exited();
  });
  const result = await proc.done;
  hooks.cleanups.push(pidWritten.then(() => removePidRecord(deps.pidDir, pidRecord)).catch(() => undefined));
  await live.close();
  logger.info(
    {
      exitCode: result.exitCode,
      signal: result.signal,
      killedFor: result.killedFor,
      durationMs: result.durationMs,
      ...eventField('exited'),
    },
    'executer exited',
  );
  // Before the settle's first write: landing after `uploading`, it would set the status back to running.
  await recorded;
  return result;
}
