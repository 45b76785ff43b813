/**
 * The attempts a tracker runs: each started on the slots it was granted (the dependencies of an
 * attempt built once per tracker), its slots given back the moment its process ends, and its
 * clean-up awaited at close. A shutdown gives the running attempts the grace, kills what is left,
 * and gives up on Redis writes a kill grace + 0.5 s later.
 */
import { releaseTask, settlesWithin, type Claim, type Logger } from '@gpufleet/core';
import type { TrackerConfig } from './config.js';
import type { RunningTask, TaskExecutionDeps } from './run/attempt-types.js';
import { executeTask } from './run/task-execution.js';
import type { PreemptionCandidate } from './preemption.js';
import type { ExpectedEnd } from './shadow-times.js';
import type { SlotPool } from './slot-pool.js';
import { eventField } from './tracker-events.js';

/** After the kill at shutdown, how much longer than the kill grace Redis writes are retried. */
const GIVE_UP_AFTER_KILL_MS = 500;

export interface RunningAttemptsDeps {
  /** What every attempt is given (with `giveUp` left to this registry). */
  attempt: Omit<TaskExecutionDeps, 'giveUp'>;
  pool: SlotPool;
  logger: Logger;
  /** Slots were released or a task finished: the consumer loop may take more. */
  slotsChanged: () => void;
  /** A task's process ended and gave its GPUs back (called before slotsChanged, in the same turn). */
  gpusGivenBack?: (gpuIds: readonly number[], taskId: string) => void;
  /** Retries a Redis call through an outage, until the tracker closes. */
  retry: <T>(what: string, op: () => Promise<T>) => Promise<T>;
}

/** What every attempt takes from the tracker's configuration. */
export function attemptSettings(
  config: TrackerConfig,
): Pick<
  TaskExecutionDeps,
  | 'workDir'
  | 'leaseMs'
  | 'heartbeatMs'
  | 'killGraceMs'
  | 'preemptGraceMs'
  | 'gpuMps'
  | 'uploadRetryMs'
  | 'keepTaskDirs'
  | 'logGraceMs'
  | 'allowEnvSetup'
> {
  const {
    workDir,
    leaseMs,
    heartbeatMs,
    killGraceMs,
    preemptGraceMs,
    gpuMps,
    uploadRetryMs,
    keepTaskDirs,
    logGraceMs,
    allowEnvSetup,
  } = config;
  return {
    workDir,
    leaseMs,
    heartbeatMs,
    killGraceMs,
    preemptGraceMs,
    gpuMps,
    uploadRetryMs,
    keepTaskDirs,
    logGraceMs,
    allowEnvSetup,
  };
}

export class RunningAttempts {
  private readonly tasks = new Map<string, RunningTask>();
  /** The tasks being stopped for a preemption: task id → when SIGKILL ends them at the latest. */
  private readonly stopping = new Map<string, number>();
  /** Clean-ups still going on after their tasks completed (awaited at close). */
  private readonly cleanups = new Set<Promise<void>>();
  /** Aborted when a closing tracker stops waiting for Redis (see `drain`). */
  private readonly giveUp = new AbortController();
  /** Aborted when the shutdown begins: services, which never end by themselves, stop at once. */
  private readonly shutdown = new AbortController();
  private readonly attemptDeps: TaskExecutionDeps;
  private closing = false;

  constructor(private readonly deps: RunningAttemptsDeps) {
    this.attemptDeps = { ...deps.attempt, giveUp: this.giveUp.signal, shutdown: this.shutdown.signal };
  }

  /** The attempts running now, by task id. */
  get running(): ReadonlyMap<string, RunningTask> {
    return this.tasks;
  }

  has(taskId: string): boolean {
    return this.tasks.has(taskId);
  }

  /** A cancel arrived on the control stream: the task's process group is killed. */
  cancel(taskId: string): void {
    const task = this.tasks.get(taskId);
    this.deps.logger.info({ taskId, running: Boolean(task) }, 'cancel requested');
    task?.kill('cancelled');
  }

  /**
   * The GPUs of each task whose process runs, and when its time limit ends it (backfill), or its
   * preemption's SIGKILL when that comes first.
   */
  expectedEnds(): ExpectedEnd[] {
    const ends: ExpectedEnd[] = [];
    // A shared GPU frees when its last share ends: one entry per shared GPU (gpu/gpu-shares.ts).
    const shared = new Map<number, number>();
    for (const [id, task] of this.tasks) {
      const record = task.claim.record;
      if (task.hasExited || task.gpuIds.length === 0 || !record) continue;
      const limit = (record.startedAt ?? 0) + record.timeLimitMs;
      const endMs = Math.min(limit, this.stopping.get(id) ?? limit);
      if ((record.gpuRequest.shareMiB ?? null) !== null) {
        for (const gpu of task.gpuIds) shared.set(gpu, Math.max(shared.get(gpu) ?? 0, endMs));
      } else ends.push({ gpus: task.gpuIds.length, endMs, gpuIds: task.gpuIds });
    }
    for (const [gpu, endMs] of shared) ends.push({ gpus: 1, endMs, gpuIds: [gpu] });
    return ends;
  }

  /**
   * The running tasks a preemption may stop: submitted preemptible, their process running, not
   * being stopped already. None while a suspect runs: it holds the whole tracker, alone.
   */
  preemptionCandidates(): PreemptionCandidate[] {
    const candidates: PreemptionCandidate[] = [];
    for (const [taskId, task] of this.tasks) {
      const { record, token, suspect } = task.claim;
      if (suspect) return [];
      // A share frees no whole GPU: preemptions count GPUs, so shares are not stopped for one.
      const share = (record?.gpuRequest.shareMiB ?? null) !== null;
      if (!record?.preemptible || share || task.hasExited || this.stopping.has(taskId)) continue;
      const { priority, startedAt } = record;
      candidates.push({ taskId, token, gpus: task.gpuIds.length, priority, startedAt: startedAt ?? 0 });
    }
    return candidates;
  }

  /** Whether tasks stopped for a preemption are still running (one preemption at a time). */
  get preempting(): boolean {
    return this.stopping.size > 0;
  }

  /** Stops `taskIds` for task `by` (recorded in Redis first: preemption.ts): SIGTERM, SIGKILL after `graceMs`. */
  preempt(taskIds: readonly string[], by: string, graceMs: number, now: number): void {
    for (const taskId of taskIds) {
      const task = this.tasks.get(taskId);
      if (!task || task.hasExited) continue;
      this.stopping.set(taskId, now + graceMs);
      void task.exited.then(() => this.stopping.delete(taskId));
      task.preempt(by, graceMs);
    }
  }

  /** Each running task's GPUs, while its process runs (for the registry). */
  gpusInUse(): Record<string, number[]> {
    const running: Record<string, number[]> = {};
    for (const [id, task] of this.tasks) if (!task.hasExited) running[id] = [...task.gpuIds];
    return running;
  }

  /**
   * Starts a claimed task on free slots. A suspect task runs alone: the consumer loop, the only
   * caller, claims one only when this tracker is idle and any task only when it fits. What is
   * claimed after a shutdown began (a take Redis answered late) goes back first in line, its
   * attempt undone: it never started (`handed-back`, `started` false).
   */
  async launch(claim: Claim, gpus: number): Promise<void> {
    const { pool, logger } = this.deps;
    const consumer = this.attemptDeps.consumer;
    const grant = this.closing ? null : pool.allocate(gpus, claim.suspect, claim.record?.gpuRequest);
    if (!grant) {
      const reason = this.closing
        ? `tracker "${consumer}" began shutting down as it claimed the task`
        : `tracker "${consumer}" had no free slots for it by then`;
      const { redis, keys, now } = this.attemptDeps;
      const given = await this.deps
        .retry('hand back', () =>
          releaseTask(redis, keys, claim, now(), { reason, attempt: 'undo', first: true }),
        )
        .catch(() => false);
      logger.warn(
        { taskId: claim.taskId, handedBack: given, reason, ...eventField('handed-back') },
        'handed back a task it could not start',
      );
      const attempt = { taskId: claim.taskId, attempt: claim.attempt };
      return this.attemptDeps.emit('handed-back', { ...attempt, reason, handedBack: given, started: false });
    }
    if (claim.suspect) logger.warn({ taskId: claim.taskId }, 'running a suspect task alone');
    const task = executeTask(this.attemptDeps, claim, grant.gpuIds);
    this.tasks.set(claim.taskId, task);
    // The GPUs are free once the process has ended; storing the outputs goes on beside the next task.
    void task.exited.then(() => {
      pool.release(grant, true);
      // In the same turn as the release: no take can give the GPUs out before they are held settling.
      this.deps.gpusGivenBack?.(grant.gpuIds, claim.taskId);
      this.deps.slotsChanged();
    });
    void task.done.finally(() => {
      this.tasks.delete(claim.taskId);
      void task.exited.then(() => {
        pool.finished();
        this.deps.slotsChanged();
      });
    });
    this.cleanups.add(task.cleanup);
    void task.cleanup.finally(() => this.cleanups.delete(task.cleanup));
  }

  /**
   * From now on, `check` (gpu/gpu-health.ts) looks at the GPUs' health before a GPU attempt whose
   * process ended without succeeding is settled (TaskExecutionDeps.gpuCheck).
   */
  checkGpusWith(check: () => Promise<void>): void {
    this.attemptDeps.gpuCheck = check;
  }

  /** A shutdown began: from now on, what a late take or read still claims goes back (`launch`). */
  stopLaunching(): void {
    this.closing = true;
    this.shutdown.abort();
  }

  /**
   * Shutdown: no more launches; running tasks get `graceMs` to finish, then are killed (and hand
   * themselves back); Redis writes still pending `killGraceMs` + 0.5 s later are given up. Resolves
   * when every attempt and its clean-up are over.
   */
  async drain(graceMs: number, killGraceMs: number): Promise<void> {
    this.stopLaunching();
    const running = [...this.tasks.values()];
    if (running.length > 0) {
      this.deps.logger.info({ tasks: running.length, graceMs }, 'waiting for running tasks');
      const all = Promise.all(running.map((t) => t.done));
      if (!(await settlesWithin(all, graceMs))) {
        for (const task of this.tasks.values()) task.kill('shutdown');
        if (!(await settlesWithin(all, killGraceMs + GIVE_UP_AFTER_KILL_MS))) {
          this.deps.logger.warn(
            { tasks: this.tasks.size },
            'Redis did not take the tasks back in time; leaving them to be recovered as after a crash',
          );
        }
      }
    }
    this.giveUp.abort();
    await Promise.all(running.map((t) => t.done));
    await Promise.all(this.cleanups);
  }
}
