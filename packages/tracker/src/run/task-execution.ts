/**
 * Runs one claimed attempt from start to finish, in three phases: prepare (the record, executer
 * and parameters, the task folder and its inputs, the argv and environment: attempt-prepare.ts),
 * run (the executer process with its lease kept alive and its output streamed live:
 * attempt-process.ts) and settle (decided in attempt-settle.ts: hand back, or store the outputs
 * and retry or complete, each write fenced and announced as its tracker event: attempt-writes.ts).
 * An attempt whose lease is lost is killed and completes nothing (`lost`); one whose GPU failed
 * (gpu/gpu-health.ts) is killed and handed back with GPU_ERROR. A GPU attempt's usage is metered
 * while its process runs and recorded with its end (gpu/task-gpu-usage.ts).
 */
import {
  attemptPrefix,
  getTask,
  type Claim,
  type Fields,
  type Logger,
  type OutputManifest,
  type TaskRecord,
} from '@gpufleet/core';
import { meterTask, type TaskGpuMeter } from '../gpu/task-gpu-usage.js';
import { withRedisRetry } from '../with-redis-retry.js';
import { attemptSpec, describe, fetchTaskInputs, processSpecOf } from './attempt-prepare.js';
import { runAttemptProcess, type AttemptProcessHooks } from './attempt-process.js';
import { TaskFailure } from '../errors.js';
import { runService } from '../service/service-run.js';
import type { TaskOutcome } from './task-outcome.js';
import { afterExit, afterStore, mayBeGpuFault } from './attempt-settle.js';
import { AttemptWrites } from './attempt-writes.js';
import type { ExecuterProcessResult, KillReason } from '../process/executer-process.js';
import { LeaseKeeper } from './lease-keeper.js';
import { uploadOutputs } from './output-uploader.js';
import type { RunningTask, TaskExecutionDeps } from './attempt-types.js';
import { createTaskFolder, removeTaskFolder, type TaskFolder } from './task-folder.js';
import { eventField } from '../tracker-events.js';

export type { RunningTask, TaskExecutionDeps } from './attempt-types.js';

/** A running attempt's kill switch, and the bookkeeping its phases share. */
interface AttemptState {
  killRequest: { reason: KillReason; graceMs?: number } | null;
  killProcess: ((reason: KillReason, graceMs?: number) => void) | null;
  /** The task of higher priority it was preempted for (attempt-settle.ts hands it back). */
  preemptedBy: string | null;
  /** What failed on one of its GPUs (gpu/gpu-health.ts; attempt-settle.ts hands it back). */
  gpuError: string | null;
  markExited: () => void;
  cleanups: Array<Promise<unknown>>;
}

export function executeTask(deps: TaskExecutionDeps, claim: Claim, gpuIds: readonly number[]): RunningTask {
  const logger = deps.logger.child({ taskId: claim.taskId, attempt: claim.attempt });
  const state: AttemptState = {
    killRequest: null,
    killProcess: null,
    preemptedBy: null,
    gpuError: null,
    markExited: () => undefined,
    cleanups: [],
  };
  const kill = (reason: KillReason, graceMs?: number): void => {
    state.killRequest ??= { reason, graceMs };
    state.killProcess?.(reason, graceMs);
  };
  const preempt = (by: string, graceMs: number): void => {
    if (state.killRequest) return; // cancelled, timed out or shutting down already: that stands
    state.preemptedBy = by;
    kill('preempted', graceMs);
  };
  let hasExited = false;
  const gpuFailed = (reason: string): void => {
    // Cancelled, timed out or preempted already: that stands; a shutdown gives way to it.
    if (state.gpuError !== null || (state.killRequest && state.killRequest.reason !== 'shutdown')) return;
    state.gpuError = reason;
    if (!hasExited) kill('gpu_error');
  };
  const exited = new Promise<void>((resolve) => (state.markExited = resolve)).then(() => {
    hasExited = true;
  });
  const done = runAttempt(deps, claim, gpuIds, logger, state, kill)
    .catch((error: unknown) => logger.error({ err: error }, 'task execution failed'))
    .finally(() => state.markExited());
  const cleanup = done.then(() => Promise.all(state.cleanups)).then(() => undefined);
  return {
    claim,
    gpuIds,
    kill,
    preempt,
    gpuFailed,
    exited,
    get hasExited() {
      return hasExited;
    },
    done,
    cleanup,
  };
}

/** One attempt's life: prepare (record → folder → inputs → argv), run the process, settle. */
async function runAttempt(
  deps: TaskExecutionDeps,
  claim: Claim,
  gpuIds: readonly number[],
  logger: Logger,
  state: AttemptState,
  kill: (reason: KillReason) => void,
): Promise<void> {
  const retry = <T>(what: string, op: () => Promise<T>): Promise<T> =>
    withRedisRetry(op, { logger, what, outage: deps.outage, signal: deps.giveUp });
  const writes = new AttemptWrites(deps, claim, logger, retry);
  const record =
    claim.record ?? (await retry('read task', () => getTask(deps.redis, deps.keys, claim.taskId)));
  if (!record) return logger.warn('task record is gone; skipping');
  const spec = attemptSpec(record, deps.executers, deps.consumer, deps.allowEnvSetup);
  if (spec.kind === 'end') return writes.fail(spec.end);
  const folder = await createTaskFolder(deps.workDir, claim.taskId, claim.attempt, deps.spares);
  const keeper = new LeaseKeeper(
    { ...deps, logger },
    claim,
    () => {
      deps.emit('lost', { taskId: claim.taskId, attempt: claim.attempt, stage: 'running' });
      kill('lease_lost');
    },
    () => kill('cancelled'),
  );
  keeper.start();
  let meter: TaskGpuMeter | null = null;
  try {
    const inputsFailure = await fetchTaskInputs(deps, spec, folder);
    if (inputsFailure) return await writes.fail(inputsFailure);
    const service = spec.executer.manifest.service;
    if (service && (!deps.services || deps.slurm)) {
      const reason = `tracker "${deps.consumer}" runs no services${deps.slurm ? ' (it runs its tasks as SLURM jobs)' : ''}`;
      return await writes.fail(new TaskFailure('SPAWN_FAILED', reason));
    }
    meter = meterTask(deps.gpuSampler, gpuIds); // from just before its spawn
    const hooks: AttemptProcessHooks = {
      logger,
      retry,
      killable: (killProcess) => {
        state.killProcess = killProcess;
        if (state.killRequest) killProcess(state.killRequest.reason, state.killRequest.graceMs);
      },
      exited: () => {
        meter?.stop();
        state.markExited();
      },
      cleanups: state.cleanups,
    };
    const limits = {
      timeLimitMs: record.timeLimitMs,
      executer: record.executer,
      gpuIds,
      gpus: record.gpus,
      gpuModels: record.gpuRequest.models,
      slurm: record.slurm,
    };
    const ran =
      service && deps.services
        ? await runService({
            deps: { ...deps, services: deps.services },
            claim,
            spec,
            service,
            folder,
            gpuIds,
            hooks,
          })
        : {
            result: await runAttemptProcess(
              deps,
              claim,
              folder,
              processSpecOf(deps, spec, folder, claim.attempt, gpuIds),
              limits,
              hooks,
            ),
          };
    const { result } = ran;
    // A GPU fault ends a CUDA program before the health check sees it: the check looks again first.
    if (gpuIds.length > 0 && mayBeGpuFault(result)) await deps.gpuCheck?.().catch(() => undefined);
    await settle(
      deps,
      claim,
      record,
      folder,
      result,
      { leaseLost: keeper.isLost, preemptedBy: state.preemptedBy, gpuError: state.gpuError },
      writes,
      logger,
      { ...(meter?.fields() ?? {}), ...('fields' in ran ? ran.fields : {}) },
      'outcome' in ran ? ran.outcome : undefined,
    );
  } finally {
    deps.spares?.refill(); // for an attempt that ended before its spawn (a no-op when full)
    keeper.stop();
    meter?.stop(); // stopped at the process's end already, unless it never started
    // Off the slot's path: the slots are freed as soon as the task is complete.
    if (!deps.keepTaskDirs) {
      state.cleanups.push(
        removeTaskFolder(folder).catch((error: unknown) =>
          logger.warn({ err: error }, 'could not remove task folder'),
        ),
      );
    }
  }
}

/**
 * Carries out how the attempt ends (decided in attempt-settle.ts): hand back, store, retry, complete;
 * a retry and a completion record the attempt's GPU usage with its exit code and duration.
 */
async function settle(
  deps: TaskExecutionDeps,
  claim: Claim,
  record: TaskRecord,
  folder: TaskFolder,
  result: ExecuterProcessResult,
  ended: { leaseLost: boolean; preemptedBy: string | null; gpuError: string | null },
  writes: AttemptWrites,
  logger: Logger,
  gpuUsage: Fields,
  serviceOutcome?: TaskOutcome,
): Promise<void> {
  const settled = afterExit({ ...ended, result, timeLimitMs: record.timeLimitMs, consumer: deps.consumer });
  // A service's own ending (its lifetime, its readiness) reads its process's end otherwise.
  const exit = settled.kind === 'store' && serviceOutcome ? { ...settled, outcome: serviceOutcome } : settled;
  if (exit.kind === 'lost') return;
  if (exit.kind === 'hand-back') return writes.handBack(exit.reason, ended.preemptedBy, exit.errorCode);
  const base = {
    exitCode: result.exitCode,
    signal: result.signal,
    durationMs: result.durationMs,
    stderrTail: result.stderrTail,
    ...gpuUsage,
  };
  if (!(await writes.setUploading())) {
    logger.warn({ ...eventField('lost'), stage: 'upload' }, 'lost the task before uploading outputs');
    return deps.emit('lost', { taskId: claim.taskId, attempt: claim.attempt, stage: 'upload' });
  }
  const prefix = attemptPrefix(record.tenant, record.id, claim.attempt);
  let outputs: OutputManifest | null = null;
  let storeError: string | null = null;
  try {
    outputs = await uploadOutputs(deps.store, folder, prefix, claim.attempt, {
      retryMs: deps.uploadRetryMs,
      logger,
      logs: result.logs,
    });
  } catch (error) {
    // Nothing half-stored stays behind: the attempt's objects are removed (or the reason says so).
    const cleaned = await deps.store.deletePrefix(prefix).then(
      () => 'its partial outputs were removed',
      () => `its partial outputs may remain under ${prefix}`,
    );
    storeError = `uploading outputs failed (${cleaned}): ${describe(error)}`;
  }
  const settlement = afterStore({
    outcome: exit.outcome,
    attempt: claim.attempt,
    failures: record.failures,
    retries: record.retries,
    retryBackoff: record.retryBackoff,
    storeError,
  });
  if (settlement.kind === 'retry') {
    return writes.queueRetry(settlement.reason, settlement.delayMs, {
      ...base,
      lastOutputs: JSON.stringify(outputs),
    });
  }
  const fields = outputs === null ? base : { ...base, outputs: JSON.stringify(outputs) };
  await writes.complete(settlement, fields);
}
