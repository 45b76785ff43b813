/**
 * Runs one claimed attempt from start to finish: task folder, inputs, the executer process (with
 * its lease kept alive and its output streamed live), outputs and manifest, and the fenced
 * completion. An attempt whose lease is lost is killed and completes nothing.
 */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import {
  attemptPrefix,
  buildArgv,
  completeTask,
  getTask,
  GpufleetError,
  releaseTask,
  setTaskStatus,
  type ArtifactStore,
  type Claim,
  type Fields,
  type LoadedExecuter,
  type Logger,
  type OutageReporter,
  type QueueKeys,
  type TaskRecord,
  type TaskStatus,
} from '@gpufleet/core';
import { withRedisRetry } from '../redis-retry.js';
import { preciseNow } from './clock.js';
import { startExecuterProcess, type KillReason } from './executer-process.js';
import type { Spawner } from './spawner.js';
import { LeaseKeeper } from './lease-keeper.js';
import { LogPublisher } from './log-publisher.js';
import { removePidRecord, writePidRecord } from './pid-files.js';
import { retryDelayMs } from './retry-delay.js';
import type { SpareFolders } from './spare-folders.js';
import { uploadOutputs } from './output-uploader.js';
import { createTaskFolder, fetchInputs, removeTaskFolder, type TaskFolder } from './task-folder.js';
import { taskEnv } from './task-env.js';
import { taskOutcome } from './task-outcome.js';

/**
 * What a tracker tells its embedder about one attempt. Times are epoch ms, sub-ms precise, of
 * when it happened, not of when the tracker heard of it: `spawned` when the exec went through and
 * `exited` when the process was reaped, both by the spawner's clock (by the tracker's where it
 * starts programs itself).
 */
export type TaskEvent =
  | { type: 'spawned'; taskId: string; attempt: number; pid: number | null; at: number }
  | { type: 'exited'; taskId: string; attempt: number; exitCode: number | null; at: number };

export interface TaskExecutionDeps {
  /** Called when the executer process starts and when it exits. */
  onTaskEvent?: (event: TaskEvent) => void;
  redis: Redis;
  keys: QueueKeys;
  store: ArtifactStore;
  executers: ReadonlyMap<string, LoadedExecuter>;
  consumer: string;
  workDir: string;
  leaseMs: number;
  heartbeatMs: number;
  killGraceMs: number;
  /** How long output uploads retry through artifact store outages. */
  uploadRetryMs: number;
  keepTaskDirs: boolean;
  /** Where this tracker records the process groups it started (see pid-files). */
  pidDir: string;
  /** Where "Redis is unreachable" goes (one line a second for the whole process). */
  outage: OutageReporter;
  /**
   * Aborted when a shutting-down tracker stops waiting for Redis: Redis writes are no longer
   * retried, and what was not written is recovered by the other trackers as after a crash.
   */
  giveUp?: AbortSignal;
  /** The environment executers inherit: executerBaseEnv(process.env), read once per tracker. */
  baseEnv: Readonly<Record<string, string>>;
  /** Task folders made ahead (see spare-folders.ts); without, each folder is made on the spot. */
  spares?: SpareFolders;
  /** The tracker's spawner (gpufleet-task-init), or null to start executers with Node's spawn. */
  spawner: Spawner | null;
  logger: Logger;
  now: () => number;
}

/** A running attempt as the tracker sees it: enough to kill it from outside. */
export interface RunningTask {
  claim: Claim;
  gpuIds: readonly number[];
  kill(reason: KillReason): void;
  /** Settles when its process has ended (or will never start): its GPUs are free again. */
  exited: Promise<void>;
  /** Whether `exited` has settled. */
  readonly hasExited: boolean;
  /** Settles when the task is complete: outputs stored, final status written. */
  done: Promise<void>;
  /** Settles when its folder and records are cleaned up too. */
  cleanup: Promise<void>;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function executeTask(deps: TaskExecutionDeps, claim: Claim, gpuIds: readonly number[]): RunningTask {
  const logger = deps.logger.child({ taskId: claim.taskId, attempt: claim.attempt });
  let killRequest: KillReason | null = null;
  let killProcess: ((reason: KillReason) => void) | null = null;
  const kill = (reason: KillReason): void => {
    killRequest ??= reason;
    killProcess?.(reason);
  };
  const retry = <T>(what: string, op: () => Promise<T>): Promise<T> =>
    withRedisRetry(op, { logger, what, outage: deps.outage, signal: deps.giveUp });
  const finish = async (status: TaskStatus, reason: string, fields: Fields = {}): Promise<void> => {
    const written = await retry('complete', () =>
      completeTask(deps.redis, deps.keys, claim, status, deps.now(), reason, { error: reason, ...fields }),
    );
    if (written) logger.info({ status, reason: reason || undefined }, 'task ended');
    else logger.warn({ status }, 'completion refused: this attempt lost the task to another one');
  };

  const run = async (): Promise<void> => {
    const record =
      claim.record ?? (await retry('read task', () => getTask(deps.redis, deps.keys, claim.taskId)));
    if (!record) return logger.warn('task record is gone; skipping');
    const executer = deps.executers.get(record.executer);
    if (!executer) return finish('dead', `tracker "${deps.consumer}" has no executer "${record.executer}"`);
    let params: Record<string, unknown>;
    try {
      params = executer.validateParams(record.params, { owned: true }); // parsed from the record for this attempt
    } catch (error) {
      return finish('failed', describe(error));
    }
    const folder = await createTaskFolder(deps.workDir, claim.taskId, claim.attempt, deps.spares);
    const keeper = new LeaseKeeper(
      { ...deps, logger },
      claim,
      () => kill('lease_lost'),
      () => kill('cancelled'),
    );
    keeper.start();
    try {
      await runInFolder(record, executer, params, folder, keeper);
    } finally {
      deps.spares?.refill(); // for an attempt that ended before its spawn (a no-op when full)
      keeper.stop();
      // Off the slot's path: the slots are freed as soon as the task is complete.
      if (!deps.keepTaskDirs) {
        cleanups.push(
          removeTaskFolder(folder).catch((error: unknown) =>
            logger.warn({ err: error }, 'could not remove task folder'),
          ),
        );
      }
    }
  };

  const runInFolder = async (
    record: TaskRecord,
    executer: LoadedExecuter,
    params: Record<string, unknown>,
    folder: TaskFolder,
    keeper: LeaseKeeper,
  ): Promise<void> => {
    try {
      await fetchInputs(deps.store, folder, record.tenant, record.id, record.inputs);
    } catch (error) {
      const code = error instanceof GpufleetError ? `${error.code}: ` : '';
      return finish('failed', `inputs refused: ${code}${describe(error)}`);
    }
    const argv = buildArgv(
      executer.manifest,
      {
        executerDir: executer.dir,
        taskDir: folder.root,
        inputDir: folder.inputDir,
        outputDir: folder.outputDir,
        gpuIds,
        taskId: record.id,
        attempt: claim.attempt,
      },
      params,
    );
    const env = taskEnv({
      base: deps.baseEnv,
      manifestEnv: executer.manifest.env,
      taskId: record.id,
      attempt: claim.attempt,
      gpuIds,
      inputDir: folder.inputDir,
      outputDir: folder.outputDir,
    });
    const live = new LogPublisher({
      redis: deps.redis,
      key: deps.keys.log(record.id),
      logger,
      outage: deps.outage,
    });
    const proc = await startExecuterProcess({
      file: argv.file,
      args: argv.args,
      cwd: folder.root,
      env,
      stdoutPath: folder.stdoutPath,
      stderrPath: folder.stderrPath,
      timeLimitMs: record.timeLimitMs,
      killGraceMs: deps.killGraceMs,
      spawner: deps.spawner,
      onOutput: (stream, chunk) => live.write(stream, chunk),
    });
    deps.spares?.refill(); // after the spawn, not on its way
    killProcess = proc.kill;
    if (killRequest) proc.kill(killRequest);
    const pidRecord = {
      taskId: record.id,
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
    deps.onTaskEvent?.({
      type: 'spawned',
      taskId: record.id,
      attempt: claim.attempt,
      pid: proc.pid,
      at: proc.spawnedAt ?? preciseNow(),
    });
    logger.info({ pid: proc.pid, gpuIds, executer: record.executer }, 'executer started');
    logger.debug({ argv: [argv.file, ...argv.args] }, 'executer command line');
    const fields = {
      pid: proc.pid,
      pidStartTime: proc.pidStartTime,
      host: hostname(),
      gpuIds: JSON.stringify(gpuIds),
    };
    // After the pid file: whoever sees the pid in Redis may rely on a restart finding the file.
    void pidWritten
      .then(() =>
        retry('record pid', () => setTaskStatus(deps.redis, deps.keys, claim, 'running', deps.now(), fields)),
      )
      .catch((error: unknown) => logger.warn({ err: error }, 'could not record the process id'));
    // The GPUs are free the moment the process ends, before its logs are read to the end.
    void proc.ended.then(({ exitCode, at }) => {
      deps.onTaskEvent?.({ type: 'exited', taskId: record.id, attempt: claim.attempt, exitCode, at });
      markExited();
    });
    const result = await proc.done;
    cleanups.push(pidWritten.then(() => removePidRecord(deps.pidDir, pidRecord)).catch(() => undefined));
    await live.close();
    logger.info(
      {
        exitCode: result.exitCode,
        signal: result.signal,
        killedFor: result.killedFor,
        durationMs: result.durationMs,
      },
      'executer exited',
    );
    if (keeper.isLost || result.killedFor === 'lease_lost') return;
    if (result.killedFor === 'shutdown') {
      const reason = `handed back: tracker "${deps.consumer}" shut down before the task finished`;
      const given = await retry('hand back', () =>
        releaseTask(deps.redis, deps.keys, claim, deps.now(), { reason, attempt: 'free', first: true }),
      );
      return logger.info({ handedBack: given }, 'task handed back to the queue');
    }
    const outcome = taskOutcome(result, record.timeLimitMs);
    const base = {
      exitCode: result.exitCode,
      signal: result.signal,
      durationMs: result.durationMs,
      stderrTail: result.stderrTail,
    };
    if (
      !(await retry('set uploading', () =>
        setTaskStatus(deps.redis, deps.keys, claim, 'uploading', deps.now()),
      ))
    ) {
      return logger.warn('lost the task before uploading outputs');
    }
    const prefix = attemptPrefix(record.tenant, record.id, claim.attempt);
    let outputs;
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
      return finish('failed', `uploading outputs failed (${cleaned}): ${describe(error)}`, base);
    }
    if (outcome.status === 'failed' && record.failures < record.retries) {
      const delayMs = retryDelayMs(record.retryBackoff, record.failures);
      const reason = `attempt ${claim.attempt} failed (${outcome.error.split('\n')[0]}); retry ${record.failures + 1} of ${record.retries} in ${delayMs} ms`;
      const fields = { ...base, lastOutputs: JSON.stringify(outputs) };
      const queued = await retry('queue retry', () =>
        releaseTask(deps.redis, deps.keys, claim, deps.now(), {
          reason,
          attempt: 'free',
          delayMs,
          countFailure: true,
          fields,
        }),
      );
      return logger.info({ queued, delayMs }, 'failed attempt queued for a retry');
    }
    await finish(outcome.status, outcome.error, { ...base, outputs: JSON.stringify(outputs) });
  };

  const cleanups: Array<Promise<unknown>> = [];
  let hasExited = false;
  let markExited = (): void => undefined;
  const exited = new Promise<void>((resolve) => (markExited = resolve)).then(() => {
    hasExited = true;
  });
  const done = run()
    .catch((error: unknown) => logger.error({ err: error }, 'task execution failed'))
    .finally(markExited);
  const cleanup = done.then(() => Promise.all(cleanups)).then(() => undefined);
  return {
    claim,
    gpuIds,
    kill,
    exited,
    get hasExited() {
      return hasExited;
    },
    done,
    cleanup,
  };
}
