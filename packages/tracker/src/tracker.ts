/**
 * The tracker daemon: registers under its unique consumer name, publishes its executers, and runs
 * the consumer loop, one task per free slot group, until closed. `start()` and `close()` are safe
 * to call twice and return the same promise. It emits its events (tracker-events.ts).
 */
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import type { Redis } from 'ioredis';
import {
  loadScripts,
  newToken,
  publishCatalog,
  queueKeys,
  type Logger,
  type QueueKeys,
  type TrackerInfo,
} from '@gpufleet/core';
import type { TrackerDeps } from './tracker-deps.js';
import { ConsumerLoop } from './consumer-loop.js';
import { ControlReader } from './control-reader.js';
import { PeriodicJobs } from './periodic-jobs.js';
import { QueueSweep } from './queue-sweep.js';
import { recoverPreviousLife, type RecoverDeps } from './recover-previous-life.js';
import { withRedisRetry } from './with-redis-retry.js';
import { catalogEntries, closeConnections, openConnections, waitForRedis } from './tracker-connections.js';
import { claimConsumerName, currentHolder, leaveRegistry, type Holder } from './registration.js';
import type { RunningTask } from './run/attempt-types.js';
import { pidDir } from './process/pid-files.js';
import { SpareFolders } from './run/spare-folders.js';
import { Spawner } from './process/spawner.js';
import { executerBaseEnv } from './run/task-env.js';
import { Preempter } from './preemption.js';
import { RetentionKeeper } from './retention-keeper.js';
import { attemptSettings, RunningAttempts } from './running-attempts.js';
import { SlotPool } from './slot-pool.js';
import { PortPool } from './service/port-pool.js';
import { LeftoverJobSweep } from './slurm/leftover-jobs.js';
import { cancelJob } from './slurm/slurm-job.js';
import { gpuDevices } from './gpu/gpu-groups.js';
import { TrackerPresence } from './tracker-presence.js';
import {
  eventField,
  trackerEmit,
  type EmitTrackerEvent,
  type TrackerEmitterEvents,
} from './tracker-events.js';
import { TrackerOutage } from './tracker-outage.js';

export type { TrackerDeps } from './tracker-deps.js';

/**
 * Emits the events of TrackerEventMap (tracker-events.ts), and `task` with a TaskEvent when an
 * executer process starts (`spawned`) and when it exits (`exited`), for embedders and benchmarks.
 */
export class Tracker extends EventEmitter<TrackerEmitterEvents> {
  readonly name: string;
  readonly keys: QueueKeys;
  readonly pool: SlotPool;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly redis: Redis;
  private readonly blocking: Redis;
  private readonly holder: Holder;
  private readonly loop: ConsumerLoop;
  private readonly control: ControlReader;
  /** Starts every executer process (null: without gpufleet-task-init, Node's spawn does). */
  private readonly spawner: Spawner | null;
  private readonly spares: SpareFolders;
  private readonly attempts: RunningAttempts;
  private readonly sweep: QueueSweep;
  /** `main`: heartbeat and sweeps, stopped at close; `alive`: liveness, until the last task ends. */
  private readonly jobs: PeriodicJobs<'main' | 'alive'>;
  private readonly presence: TrackerPresence;
  private readonly startedAt: number;
  private readonly outage: TrackerOutage;
  private readonly announce: EmitTrackerEvent;
  /** What most parts of a tracker are given. */
  private readonly parts: Omit<RecoverDeps, 'pidDir'>;
  /** When the command connection last came back after a loss (0: never lost). */
  private reconnectedAt = 0;
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  /** Aborted when close() begins: the start's Redis retries stop. */
  private readonly stopping = new AbortController();

  constructor(private readonly deps: TrackerDeps) {
    super();
    this.name = deps.config.consumerName;
    this.logger = deps.logger.child({ tracker: this.name, queue: deps.config.queue });
    this.now = deps.now ?? Date.now;
    this.startedAt = this.now();
    this.keys = queueKeys(deps.config.prefix, deps.config.queue);
    const slurm = deps.config.slurm;
    // A tracker fronting SLURM has no GPUs of its own: its "GPUs" are the GPU jobs it may keep in SLURM.
    const gpuIds = slurm ? Array.from({ length: slurm.gpus }, (_, i) => i) : deps.gpuIds;
    const cpuSlots =
      slurm?.cpuJobs ?? deps.config.cpuSlots ?? (gpuIds.length > 0 ? 0 : availableParallelism());
    this.pool = new SlotPool(gpuIds, cpuSlots, gpuDevices(deps.gpuInventory), deps.config.maxSharesPerGpu);
    // Started and closed with the tracker (its events); given each task's GPUs back to settle.
    const occupancy = deps.gpuOccupancy?.({ pool: this.pool, tracker: this });
    this.holder = currentHolder(newToken());
    this.announce = trackerEmit(this, this.logger);
    this.outage = new TrackerOutage(this.logger, this.announce);
    const connections = openConnections(deps.config.redisUrl, this.name, this.outage, this.logger);
    this.redis = connections.redis;
    this.blocking = connections.blocking;
    this.parts = {
      redis: this.redis,
      keys: this.keys,
      consumer: this.name,
      logger: this.logger,
      now: this.now,
      emit: this.announce,
    };
    this.spawner = deps.taskInit ? new Spawner(deps.taskInit, deps.config.killGraceMs, this.logger) : null;
    this.spares = SpareFolders.forTracker(
      deps.config.workDir,
      this.name,
      this.pool.gpuIds.length + this.pool.cpuSlots,
      this.logger,
    );
    const { config } = deps;
    this.attempts = new RunningAttempts({
      attempt: {
        ...this.parts,
        store: deps.store,
        executers: deps.executers,
        ...attemptSettings(config),
        pidDir: pidDir(config.workDir, this.name),
        spawner: this.spawner,
        spares: this.spares,
        // What executers inherit of this process's environment (read once: see task-env.ts).
        baseEnv: executerBaseEnv(process.env),
        outage: this.outage,
        gpuSampler: deps.gpuSampler,
        ...(slurm && { slurm: { resources: slurm.resources, pollMs: slurm.pollMs } }),
        services: {
          ports: new PortPool(config.portRange, this.logger),
          advertiseHost: config.advertiseHost,
          checkMs: config.serviceCheckMs,
        },
      },
      pool: this.pool,
      logger: this.logger,
      slotsChanged: () => this.loop.slotsChanged(),
      gpusGivenBack: (gpuIds, taskId) => occupancy?.settle(gpuIds, taskId),
      retry: (what, op) => this.retry(what, op),
    });
    deps.gpuHealth?.({ pool: this.pool, attempts: this.attempts, emit: this.announce, tracker: this });
    this.loop = new ConsumerLoop({
      ...this.parts,
      blocking: this.blocking,
      pool: this.pool,
      leaseMs: deps.config.leaseMs,
      blockMs: deps.config.blockMs,
      logGraceMs: config.logGraceMs,
      outage: this.outage,
      launch: (claim, gpus) => this.attempts.launch(claim, gpus),
      ...(slurm && { cancelSlurmJob: cancelJob }),
      expectedEnds: () => this.attempts.expectedEnds(),
      preempter: new Preempter({
        ...this.parts,
        graceMs: config.preemptGraceMs,
        pool: this.pool,
        attempts: this.attempts,
      }),
    });
    this.sweep = new QueueSweep({
      ...this.parts,
      leaseMs: config.leaseMs,
      aliveMs: config.aliveMs,
      unschedulableMs: config.unschedulableMs,
      logGraceMs: config.logGraceMs,
      streams: this.loop.streams.map((key) => ({ key })),
      isRunningHere: (taskId) => this.attempts.has(taskId),
      reconnectedAt: () => this.reconnectedAt,
    });
    this.jobs = new PeriodicJobs(this.logger, this.outage);
    this.presence = new TrackerPresence({
      ...this.parts,
      holder: this.holder,
      executers: deps.executers,
      envSetup: config.allowEnvSetup,
      pool: this.pool,
      gpuInventory: deps.gpuInventory,
      gpuSampler: deps.gpuSampler,
      attempts: this.attempts,
      aliveMs: config.aliveMs,
      heartbeatMs: config.heartbeatMs,
      startedAt: this.startedAt,
      nameLost: () => {
        if (!this.closing) this.logger.error('another tracker took this consumer name; stopping');
        void this.close();
      },
    });
    let connectedOnce = false;
    this.redis.on('ready', () => {
      if (connectedOnce) this.reconnectedAt = this.now();
      connectedOnce = true;
    });
    this.control = new ControlReader(
      connections.control,
      this.keys.trackerControl(this.name),
      (message) => {
        if (message.cmd === 'cancel') this.attempts.cancel(message.taskId);
        else this.presence.onControl(message); // drain, undrain (drains.ts)
      },
      this.logger,
    );
  }

  /** The attempts running now, by task id. */
  get running(): ReadonlyMap<string, RunningTask> {
    return this.attempts.running;
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
    const { config } = this.deps;
    await waitForRedis(this.redis, config.redisUrl, this.logger, this.stopping.signal, this.announce);
    await this.retry('take consumer name', () =>
      claimConsumerName(this.redis, this.keys, this.name, this.holder, config.aliveMs, this.logger),
    );
    this.control.start();
    const recover = { ...this.parts, pidDir: pidDir(config.workDir, this.name) };
    await this.retry('load scripts', () => loadScripts(this.redis));
    await this.retry('recover previous life', () => recoverPreviousLife(recover));
    await this.retry('publish executers', () =>
      publishCatalog(this.redis, this.keys, catalogEntries(this.deps.executers, this.name, this.now())),
    );
    await this.retry('register', () => this.presence.heartbeat());
    await this.retry('create groups', () => this.loop.ensureGroups());
    await this.retry('index waiting tasks', () => this.loop.indexWaiting());
    await this.spares.start();
    this.deps.gpuSampler?.start(); // before the first task: its meter gets every sample
    this.jobs.every('alive', Math.floor(config.aliveMs / 3), () => this.presence.refreshAlive());
    this.jobs.every('main', config.heartbeatMs, () => this.presence.heartbeat());
    this.jobs.every('main', config.sweepMs, () => this.sweep.run());
    const retention = new RetentionKeeper({
      ...this.parts,
      store: this.deps.store,
      policy: config.retention,
      periodMs: config.retentionSweepMs,
      signal: this.stopping.signal,
    });
    this.jobs.every('main', config.retentionSweepMs, () => retention.run());
    const leftovers = config.slurm && new LeftoverJobSweep({ ...this.parts, cancelJob });
    if (leftovers) this.jobs.every('main', config.slurm?.sweepMs ?? 0, () => leftovers.run());
    void this.loop.start();
    const executers = [...this.deps.executers.keys()];
    const started = { gpus: this.pool.gpuIds, cpuSlots: this.pool.cpuSlots, executers };
    const store = this.deps.store.description;
    this.logger.info({ ...started, store, ...eventField('started') }, 'tracker started');
    this.announce('started', started);
  }

  info(): TrackerInfo {
    return this.presence.info();
  }

  /**
   * Stops reading, lets running tasks finish within the shutdown grace (or `graceMs`: SLURM's
   * time-limit warning gives less), then kills what is left and hands it back.
   */
  close(options: { graceMs?: number } = {}): Promise<void> {
    this.closing ??= this.doClose(options.graceMs);
    return this.closing;
  }

  /**
   * Bounded whatever state Redis is in: the loop stops at once (no task starts after this); running
   * tasks get the shutdown grace, then are killed and handed back; Redis writes still pending a
   * kill grace + 0.5 s later are given up (the other trackers recover those tasks as after a crash).
   */
  private async doClose(graceMs?: number): Promise<void> {
    const begun = this.now();
    this.stopping.abort();
    this.attempts.stopLaunching();
    this.announce('stopping', { running: this.attempts.running.size });
    await this.starting?.catch(() => undefined);
    this.jobs.stop('main');
    await this.loop
      .stop()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'stopping the loop failed'));
    const { shutdownGraceMs, killGraceMs } = this.deps.config;
    await this.attempts.drain(graceMs ?? shutdownGraceMs, killGraceMs);
    this.jobs.stop('alive');
    await this.deps.gpuSampler?.close(); // after the last task: it was metered to its end
    await this.spares
      .close()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not remove the spare task folders'));
    await this.spawner
      ?.close()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'stopping gpufleet-task-init failed'));
    await this.control.stop().catch(() => undefined);
    await closeConnections(
      { redis: this.redis, blocking: this.blocking },
      () => leaveRegistry(this.redis, this.keys, this.name, this.holder),
      this.logger,
    );
    await this.deps.store.close();
    const stopped = { closeMs: this.now() - begun };
    this.logger.info({ ...stopped, ...eventField('stopped') }, 'tracker stopped');
    this.announce('stopped', stopped);
  }
}
