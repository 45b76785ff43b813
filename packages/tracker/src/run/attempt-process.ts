/**
 * An attempt's second phase: its executer process, from the spawn to its end. The process is
 * recorded on disk (pid and start time, so a restarted tracker can kill it) and then in the task
 * hash; its output goes live to the task's log stream; the tracker hears when it started and when
 * it ended (the `spawned` and `exited` events: its GPUs are free at that moment, before its logs
 * are read to the end).
 */
import { hostname } from 'node:os';
import { setTaskStatus, type Claim, type Logger } from '@gpufleet/core';
import type { OutputStream } from '../process/log-follow.js';
import { taskJobName } from '../slurm/job-script.js';
import { cancelJob, startSlurmJob } from '../slurm/slurm-job.js';
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
import type { SlurmJobResources, TaskExecutionDeps } from './attempt-types.js';
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

/**
 * What the attempt may use: its time, its GPUs (and, for a SLURM job, how many and which models,
 * and the task's own partition, account, memory and CPUs, over the tracker's).
 */
export interface AttemptLimits {
  timeLimitMs: number;
  executer: string;
  gpuIds: readonly number[];
  gpus?: number;
  gpuModels?: readonly string[];
  slurm?: SlurmJobResources;
}

/** The program, its folder and its log files, as a local process and a SLURM job both take them. */
function processFiles(spec: ProcessSpec, folder: TaskFolder) {
  const { file, args, env } = spec;
  return { file, args, env, cwd: folder.root, stdoutPath: folder.stdoutPath, stderrPath: folder.stderrPath };
}

/**
 * The attempt as a SLURM job (GPUFLEET_BACKEND=slurm). A job an earlier attempt of the task left
 * in SLURM (its tracker died) is cancelled first: only the attempt holding the lease runs.
 */
async function startJob(
  deps: TaskExecutionDeps,
  claim: Claim,
  folder: TaskFolder,
  spec: ProcessSpec,
  limits: AttemptLimits,
  logger: Logger,
  onOutput: (stream: OutputStream, chunk: Buffer) => void,
): Promise<Awaited<ReturnType<typeof startSlurmJob>>> {
  const slurm = deps.slurm as NonNullable<TaskExecutionDeps['slurm']>;
  const earlier = await deps.redis.hget(deps.keys.task(claim.taskId), 'slurmJobId').catch(() => null);
  if (earlier) {
    logger.warn({ slurmJob: earlier }, 'cancelling the SLURM job an earlier attempt left');
    await cancelJob(earlier);
  }
  return startSlurmJob({
    ...processFiles(spec, folder),
    jobName: taskJobName(claim.taskId),
    gpus: limits.gpus ?? limits.gpuIds.length,
    gpuModels: limits.gpuModels ?? [],
    timeLimitMs: limits.timeLimitMs,
    // The task's own (the spec's `slurm`) over the tracker's GPUFLEET_SLURM_* defaults.
    resources: { ...slurm.resources, ...limits.slurm },
    killGraceMs: deps.killGraceMs,
    pollMs: slurm.pollMs,
    logger,
    onOutput,
  });
}

export async function runAttemptProcess(
  deps: TaskExecutionDeps,
  claim: Claim,
  folder: TaskFolder,
  spec: ProcessSpec,
  limits: AttemptLimits,
  hooks: AttemptProcessHooks,
): Promise<ExecuterProcessResult> {
  const { logger } = hooks;
  const live = new LogPublisher({
    redis: deps.redis,
    key: deps.keys.log(claim.taskId),
    logger,
    outage: deps.outage,
  });
  const onOutput = (stream: OutputStream, chunk: Buffer): void => {
    live.write(stream, chunk);
    hooks.onOutput?.(stream, chunk);
  };
  const proc = deps.slurm
    ? await startJob(deps, claim, folder, spec, limits, hooks.logger, onOutput)
    : await startExecuterProcess({
        ...processFiles(spec, folder),
        timeLimitMs: limits.timeLimitMs,
        killGraceMs: deps.killGraceMs,
        spawner: deps.spawner,
        onOutput,
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
    ...('jobId' in proc && typeof proc.jobId === 'string' ? { slurmJobId: proc.jobId } : {}),
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
