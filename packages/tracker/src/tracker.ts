/**
 * The tracker daemon: registers under its unique consumer name, publishes its executers, and runs
 * the consumer loop, one task per free slot group, until closed. `start()` and `close()` are safe
 * to call twice and return the same promise.
 */
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import type { Redis } from 'ioredis';
import {
  connectRedis,
  newToken,
  promoteDelayed,
  publishCatalog,
  OutageReporter,
  queueKeys,
  releaseTask,
  waitReady,
  type ArtifactStore,
  type CatalogEntry,
  type Claim,
  type LoadedExecuter,
  type Logger,
  type QueueKeys,
  type TrackerInfo,
} from '@gpufleet/core';
import type { TrackerConfig } from './config.js';
import { ConsumerLoop } from './consumer-loop.js';
import { ControlReader } from './control-reader.js';
import { reclaimIdle } from './reclaim.js';
import { recoverPreviousLife } from './recover-previous-life.js';
import { pidDir } from './run/pid-files.js';
import { isTransientRedisError, settlesWithin, withRedisRetry } from './redis-retry.js';
import {
  currentHolder,
  leaveRegistry,
  refreshConsumerName,
  takeConsumerName,
  writeRegistration,
  type Holder,
} from './registration.js';
import { SpareFolders } from './run/spare-folders.js';
import { executerBaseEnv } from './run/task-env.js';
import { Spawner } from './run/spawner.js';
import { executeTask, type RunningTask, type TaskEvent } from './run/task-execution.js';
import { SlotPool } from './slot-pool.js';
import { sweepUnschedulable } from './unschedulable-sweep.js';

export interface TrackerDeps {
  config: TrackerConfig;
  logger: Logger;
  store: ArtifactStore;
  executers: ReadonlyMap<string, LoadedExecuter>;
  /** The GPUs this tracker may use (config's list, or detected). */
  gpuIds: readonly number[];
  /** gpufleet-task-init's path (see run/task-init.ts), or null to run executers directly. */
  taskInit: string | null;
  now?: () => number;
}

/** After the kill at shutdown, how much longer than the kill grace Redis writes are retried. */
const GIVE_UP_AFTER_KILL_MS = 500;

/** How long a closing tracker waits for its last Redis writes (leaving the registry, QUIT). */
const LAST_WRITES_MS = 500;

/** Task folders kept ready at most (one per task that may start at once). */
const MAX_SPARE_FOLDERS = 8;

/**
 * Emits `task` with a TaskEvent when an executer process starts (`spawned`) and when it exits
 * (`exited`), for embedders and benchmarks.
 */
export class Tracker extends EventEmitter<{ task: [TaskEvent] }> {
  readonly name: string;
  readonly keys: QueueKeys;
  readonly pool: SlotPool;
  private readonly config: TrackerConfig;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly redis: Redis;
  private readonly blocking: Redis;
  private readonly holder: Holder;
  private readonly loop: ConsumerLoop;
  private readonly control: ControlReader;
  private readonly pidDir: string;
  /** Starts every executer process (null: without gpufleet-task-init, Node's spawn does). */
  private readonly spawner: Spawner | null;
  private readonly spares: SpareFolders;
  /** What executers inherit of this process's environment (read once: see task-env.ts). */
  private readonly baseEnv = executerBaseEnv(process.env);
  private readonly tasks = new Map<string, RunningTask>();
  /** Clean-ups still going on after their tasks completed (awaited at close). */
  private readonly cleanups = new Set<Promise<void>>();
  private readonly timers: NodeJS.Timeout[] = [];
  /** The liveness refresh runs until the last task has ended, so a closing tracker's tasks stay its own. */
  private readonly aliveTimers: NodeJS.Timeout[] = [];
  /** When the unschedulable check last ran (it need not run every sweep). */
  private unschedulableCheckedAt = 0;
  private readonly startedAt: number;
  private readonly outage: OutageReporter;
  /** When the command connection last came back after a loss (0: never lost). */
  private reconnectedAt = 0;
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  /** Aborted when close() begins: the start and the loop's Redis retries stop. */
  private readonly stopping = new AbortController();
  /**
   * Aborted when a closing tracker stops waiting for Redis (after the grace and the kill grace):
   * what its attempts could not write (Redis down) the other trackers recover as after a crash.
   */
  private readonly giveUp = new AbortController();

  constructor(private readonly deps: TrackerDeps) {
    super();
    this.config = deps.config;
    this.name = deps.config.consumerName;
    this.logger = deps.logger.child({ tracker: this.name, queue: deps.config.queue });
    this.now = deps.now ?? Date.now;
    this.startedAt = this.now();
    this.keys = queueKeys(deps.config.prefix, deps.config.queue);
    const cpuSlots = deps.config.cpuSlots ?? (deps.gpuIds.length > 0 ? 0 : availableParallelism());
    this.pool = new SlotPool(deps.gpuIds, cpuSlots);
    this.holder = currentHolder(newToken());
    this.outage = new OutageReporter(this.logger);
    this.redis = connectRedis(deps.config.redisUrl, {
      outage: this.outage,
      connectionName: `gpufleet-tracker:${this.name}`,
      logger: this.logger,
    });
    this.blocking = connectRedis(deps.config.redisUrl, {
      outage: this.outage,
      connectionName: `gpufleet-tracker:${this.name}:read`,
      blocking: true,
      logger: this.logger,
    });
    this.loop = new ConsumerLoop({
      redis: this.redis,
      blocking: this.blocking,
      keys: this.keys,
      pool: this.pool,
      consumer: this.name,
      leaseMs: deps.config.leaseMs,
      blockMs: deps.config.blockMs,
      logger: this.logger,
      outage: this.outage,
      now: this.now,
      launch: (claim, gpus) => this.launch(claim, gpus),
    });
    this.pidDir = pidDir(deps.config.workDir, this.name);
    this.spawner = deps.taskInit ? new Spawner(deps.taskInit, deps.config.killGraceMs, this.logger) : null;
    this.spares = new SpareFolders(
      SpareFolders.dirOf(deps.config.workDir, this.name),
      Math.min(MAX_SPARE_FOLDERS, Math.max(1, this.pool.gpuIds.length + this.pool.cpuSlots)),
      this.logger,
    );
    let connectedOnce = false;
    this.redis.on('ready', () => {
      if (connectedOnce) this.reconnectedAt = this.now();
      connectedOnce = true;
    });
    const controlConnection = connectRedis(deps.config.redisUrl, {
      outage: this.outage,
      connectionName: `gpufleet-tracker:${this.name}:control`,
      blocking: true,
      logger: this.logger,
    });
    this.control = new ControlReader(
      controlConnection,
      this.keys.trackerControl(this.name),
      (message) => {
        if (message.cmd !== 'cancel') return;
        const task = this.tasks.get(message.taskId);
        this.logger.info({ taskId: message.taskId, running: Boolean(task) }, 'cancel requested');
        task?.kill('cancelled');
      },
      this.logger,
    );
  }

  /** The attempts running now, by task id. */
  get running(): ReadonlyMap<string, RunningTask> {
    return this.tasks;
  }

  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  /** Retries through Redis outages until it succeeds or the tracker closes. */
  private retry<T>(what: string, op: () => Promise<T>): Promise<T> {
    return withRedisRetry(op, {
      logger: this.logger,
      what,
      outage: this.outage,
      signal: this.stopping.signal,
    });
  }

  private async doStart(): Promise<void> {
    const { config } = this;
    await this.waitForRedis();
    const taken = await this.retry('take consumer name', () =>
      takeConsumerName(this.redis, this.keys, this.name, this.holder, config.aliveMs),
    );
    if (taken.previous) {
      this.logger.warn(
        { previous: taken.previous },
        'taking over the consumer name from this host’s previous tracker',
      );
    }
    this.control.start();
    await this.retry('recover previous life', () =>
      recoverPreviousLife({
        redis: this.redis,
        keys: this.keys,
        consumer: this.name,
        pidDir: this.pidDir,
        logger: this.logger,
        now: this.now,
      }),
    );
    await this.retry('publish executers', () => publishCatalog(this.redis, this.keys, this.catalogEntries()));
    await this.retry('register', () => this.heartbeat());
    await this.retry('create groups', () => this.loop.ensureGroups());
    await this.spares.start();
    this.every(Math.floor(config.aliveMs / 3), () => this.refreshAlive(), this.aliveTimers);
    this.every(config.heartbeatMs, () => this.heartbeat());
    this.every(config.sweepMs, () => this.sweep());
    void this.loop.start();
    this.logger.info(
      {
        gpus: this.pool.gpuIds,
        cpuSlots: this.pool.cpuSlots,
        executers: [...this.deps.executers.keys()],
        store: this.deps.store.description,
      },
      'tracker started',
    );
  }

  /** Waits for the first connection to Redis, saying once that it waits (Redis may start later). */
  private async waitForRedis(): Promise<void> {
    try {
      await waitReady(this.redis, 2000);
    } catch {
      this.logger.warn({ redis: this.config.redisUrl.replace(/\/\/[^@]*@/, '//***@') }, 'waiting for Redis');
      const stopped = new Promise<void>((resolve) =>
        this.stopping.signal.addEventListener('abort', () => resolve()),
      );
      while (!this.stopping.signal.aborted) {
        const ready = waitReady(this.redis, 60_000).then(
          () => true,
          () => false, // keep waiting: ioredis reconnects with backoff
        );
        if (await Promise.race([ready, stopped.then(() => false)])) return;
      }
      throw new Error('closed while waiting for Redis');
    }
  }

  private every(ms: number, job: () => Promise<unknown>, timers = this.timers): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      job()
        .catch((error: unknown) => {
          if (isTransientRedisError(error)) this.outage.report(error, { job: job.name });
          else this.logger.warn({ err: error }, 'periodic job failed');
        })
        .finally(() => (busy = false));
    }, ms);
    timer.unref();
    timers.push(timer);
  }

  private catalogEntries(): CatalogEntry[] {
    return [...this.deps.executers.values()].map(({ manifest }) => ({
      name: manifest.name,
      version: manifest.version,
      description: manifest.description ?? '',
      params: manifest.params,
      gpus: manifest.resources.gpus,
      timeLimitMs: manifest.resources.timeLimitMs,
      tracker: this.name,
      updatedAt: this.now(),
    }));
  }

  info(): TrackerInfo {
    const running: Record<string, number[]> = {};
    for (const [id, task] of this.tasks) if (!task.hasExited) running[id] = [...task.gpuIds];
    return {
      name: this.name,
      instance: this.holder.instance,
      host: this.holder.host,
      pid: this.holder.pid,
      pidStartTime: this.holder.pidStartTime,
      gpus: [...this.pool.gpuIds],
      cpuSlots: this.pool.cpuSlots,
      executers: [...this.deps.executers.keys()],
      running,
      startedAt: this.startedAt,
      heartbeatAt: this.now(),
      heartbeatMs: this.config.heartbeatMs,
    };
  }

  /** Refreshes this tracker's liveness key: other trackers reclaim its tasks once it expires. */
  private async refreshAlive(): Promise<void> {
    if (await refreshConsumerName(this.redis, this.keys, this.name, this.holder, this.config.aliveMs)) return;
    if (!this.closing) this.logger.error('another tracker took this consumer name; stopping');
    void this.close();
  }

  private async heartbeat(): Promise<void> {
    await writeRegistration(this.redis, this.keys, this.info());
    const [first] = this.deps.executers.keys();
    if (first !== undefined && !(await this.redis.hexists(this.keys.executers, first))) {
      this.logger.warn(
        'the executer catalog is missing (Redis was flushed or replaced); publishing it again',
      );
      await publishCatalog(this.redis, this.keys, this.catalogEntries());
    }
  }

  private async sweep(): Promise<void> {
    await promoteDelayed(this.redis, this.keys, this.now());
    // After an outage every lease and liveness key looks lapsed: give live trackers one lease to
    // renew them first.
    if (this.now() - this.reconnectedAt < this.config.leaseMs) return;
    await reclaimIdle({
      redis: this.redis,
      keys: this.keys,
      consumer: this.name,
      leaseMs: this.config.leaseMs,
      aliveMs: this.config.aliveMs,
      streams: this.loop.streams,
      logger: this.logger,
      now: this.now,
      isRunningHere: (taskId) => this.tasks.has(taskId),
    });
    // The registry read behind it costs more than a reclaim: a quarter of the wait is precise enough.
    const unschedulableEveryMs = Math.min(5000, this.config.unschedulableMs / 4);
    if (this.now() - this.unschedulableCheckedAt < unschedulableEveryMs) return;
    this.unschedulableCheckedAt = this.now();
    await sweepUnschedulable({
      redis: this.redis,
      keys: this.keys,
      unschedulableMs: this.config.unschedulableMs,
      logger: this.logger,
      now: this.now,
    });
  }

  /**
   * Starts a claimed task on free slots. A suspect task runs alone: the consumer loop, the only
   * caller, claims one only when this tracker is idle and any task only when it fits. What is
   * claimed after a shutdown began (a take Redis answered late) goes back first in line, its
   * attempt undone: it never started.
   */
  private async launch(claim: Claim, gpus: number): Promise<void> {
    const grant = this.closing ? null : this.pool.allocate(gpus, claim.suspect);
    if (!grant) {
      const reason = this.closing
        ? `tracker "${this.name}" began shutting down as it claimed the task`
        : `tracker "${this.name}" had no free slots for it by then`;
      const given = await this.retry('hand back', () =>
        releaseTask(this.redis, this.keys, claim, this.now(), { reason, attempt: 'undo', first: true }),
      ).catch(() => false);
      this.logger.warn(
        { taskId: claim.taskId, handedBack: given, reason },
        'handed back a task it could not start',
      );
      return;
    }
    if (claim.suspect) this.logger.warn({ taskId: claim.taskId }, 'running a suspect task alone');
    const task = executeTask(
      {
        redis: this.redis,
        keys: this.keys,
        store: this.deps.store,
        executers: this.deps.executers,
        consumer: this.name,
        workDir: this.config.workDir,
        leaseMs: this.config.leaseMs,
        heartbeatMs: this.config.heartbeatMs,
        killGraceMs: this.config.killGraceMs,
        uploadRetryMs: this.config.uploadRetryMs,
        keepTaskDirs: this.config.keepTaskDirs,
        pidDir: this.pidDir,
        onTaskEvent: (event) => this.emit('task', event),
        spawner: this.spawner,
        spares: this.spares,
        baseEnv: this.baseEnv,
        logger: this.logger,
        outage: this.outage,
        giveUp: this.giveUp.signal,
        now: this.now,
      },
      claim,
      grant.gpuIds,
    );
    this.tasks.set(claim.taskId, task);
    // The GPUs are free once the process has ended; storing the outputs goes on beside the next task.
    void task.exited.then(() => {
      this.pool.release(grant, true);
      this.loop.slotsChanged();
    });
    void task.done.finally(() => {
      this.tasks.delete(claim.taskId);
      void task.exited.then(() => {
        this.pool.finished();
        this.loop.slotsChanged();
      });
    });
    this.cleanups.add(task.cleanup);
    void task.cleanup.finally(() => this.cleanups.delete(task.cleanup));
  }

  /** Stops reading, lets running tasks finish within the shutdown grace, then kills what is left. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  /**
   * Bounded whatever state Redis is in: the loop stops at once (no task starts after this); running
   * tasks get the shutdown grace, then are killed and handed back; Redis writes still pending a
   * kill grace + 0.5 s later are given up (the other trackers recover those tasks as after a crash).
   */
  private async doClose(): Promise<void> {
    this.stopping.abort();
    await this.starting?.catch(() => undefined);
    for (const timer of this.timers) clearInterval(timer);
    await this.loop
      .stop()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'stopping the loop failed'));
    const running = [...this.tasks.values()];
    if (running.length > 0) {
      this.logger.info(
        { tasks: running.length, graceMs: this.config.shutdownGraceMs },
        'waiting for running tasks',
      );
      const all = Promise.all(running.map((t) => t.done));
      if (!(await settlesWithin(all, this.config.shutdownGraceMs))) {
        for (const task of this.tasks.values()) task.kill('shutdown');
        if (!(await settlesWithin(all, this.config.killGraceMs + GIVE_UP_AFTER_KILL_MS))) {
          this.logger.warn(
            { tasks: this.tasks.size },
            'Redis did not take the tasks back in time; leaving them to be recovered as after a crash',
          );
        }
      }
    }
    this.giveUp.abort();
    await Promise.all(running.map((t) => t.done));
    await Promise.all(this.cleanups);
    for (const timer of this.aliveTimers) clearInterval(timer);
    await this.spares
      .close()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not remove the spare task folders'));
    await this.spawner
      ?.close()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'stopping gpufleet-task-init failed'));
    await this.control.stop().catch(() => undefined);
    const left = leaveRegistry(this.redis, this.keys, this.name, this.holder).catch((error: unknown) =>
      this.logger.warn({ err: error }, 'could not leave the registry'),
    );
    if (!(await settlesWithin(left, LAST_WRITES_MS)))
      this.logger.warn('could not leave the registry: Redis did not answer');
    this.blocking.disconnect();
    if (this.redis.status !== 'ready' || !(await settlesWithin(this.redis.quit(), LAST_WRITES_MS)))
      this.redis.disconnect();
    await this.deps.store.close();
    this.logger.info('tracker stopped');
  }
}
