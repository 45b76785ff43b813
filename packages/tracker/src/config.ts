/**
 * The tracker's configuration, read once at start-up from the environment, validated as a whole
 * (every bad variable reported at once) and frozen. Names the executer-tracker's users know keep
 * working: REDIS_URL (or REDIS_HOSTNAME + REDIS_PORT), REDIS_CONSUMER_NAME, ARTIFACT_STORE. The
 * artifact store's settings (ARTIFACT_STORE, ARTIFACT_FSYNC, S3_*, AWS_*) are checked here too.
 */
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import {
  DEFAULT_LOG_GRACE_MS,
  DEFAULT_RETENTION,
  readLogGraceMs,
  readRetentionPolicy,
  type RetentionPolicy,
  checkName,
  DEFAULT_ARTIFACT_STORE,
  EnvReader,
  LOG_LEVELS,
  readArtifactStoreSettings,
  readRedisUrl,
  type ArtifactStoreSettings,
  type Env,
  type LogLevel,
} from '@gpufleet/core';
import { parseGpuList, type GpuSelector } from './gpu/gpu-selection.js';
import { readSlurmBackend, type SlurmBackendConfig } from './slurm/slurm-backend-config.js';
import { xidLogProblem } from './gpu/xid-errors.js';
import {
  DEFAULT_PORT_RANGE,
  readAdvertiseHost,
  readPortRange,
  type PortRange,
} from './service/service-config.js';

export interface TrackerConfig {
  redisUrl: string;
  /** Unique per tracker; refused at start if a live tracker uses it. Default: the host name. */
  consumerName: string;
  /** Key prefix of the fleet, so several fleets can share one Redis. */
  prefix: string;
  queue: string;
  /** ARTIFACT_STORE as given: a folder path, a file:// URL or s3://bucket/prefix. */
  artifactStore: string;
  /** The store ARTIFACT_STORE names, with ARTIFACT_FSYNC or the S3_* and AWS_* settings: openArtifactStore's argument. */
  artifactStoreSettings: ArtifactStoreSettings;
  executerPaths: string[];
  /**
   * GPUFLEET_GPUS: the GPUs to use, by nvidia-smi index or UUID (resolved at start, see
   * gpu/gpu-selection.ts); null = every GPU nvidia-smi lists; [] = a CPU tracker.
   */
  gpus: GpuSelector[] | null;
  /** CPU slots for tasks that ask for no GPU; null = default (all cores on a CPU tracker, else 0). */
  cpuSlots: number | null;
  workDir: string;
  logLevel: LogLevel;
  /** Run executers that run arbitrary user code (`requiresOptIn`), such as `script`. */
  allowOptInExecuters: boolean;
  /**
   * GPUFLEET_ALLOW_ENV_SETUP: run tasks' env setup lines (a profile's `env`, run/env-setup.ts)
   * before their executers. The line is arbitrary shell code from the submitter, run as the
   * tracker's user, so, like opt-in executers, only where the operator opts in; a tracker without
   * it ends such tasks ENV_SETUP_NOT_ALLOWED, and says in its registration which it is.
   */
  allowEnvSetup: boolean;
  /** A running task's lease: another tracker may take the task over once it lapses. */
  leaseMs: number;
  /** Lease renewal and registry heartbeat period. */
  heartbeatMs: number;
  /**
   * Liveness: a tracker refreshes its liveness key every aliveMs / 3, with this TTL. Once the key
   * has expired, other trackers reclaim its running tasks at once, without waiting for the lease.
   */
  aliveMs: number;
  /** How often reclaim (dead trackers, lapsed leases), retry promotion and the unschedulable check run. */
  sweepMs: number;
  /** SIGTERM → SIGKILL grace for a task's process group. */
  killGraceMs: number;
  /**
   * A preempted task's SIGTERM → SIGKILL grace, to checkpoint in (preemptible tasks find it in
   * GPUFLEET_PREEMPT_GRACE_MS, with GPUFLEET_PREEMPT_SIGNAL).
   */
  preemptGraceMs: number;
  /** On shutdown, how long running tasks may go on before they are killed and handed back. */
  shutdownGraceMs: number;
  /** How long a task may wait for a live tracker able to run it before it ends `dead`. */
  unschedulableMs: number;
  /** How long an XREADGROUP blocks before the loop looks around again. */
  blockMs: number;
  /** Keep task folders after completion (debugging). */
  keepTaskDirs: boolean;
  /** gpufleet-task-init: `auto` (build it with the C compiler), `off`, or a path to a built one. */
  taskInit: string;
  /** How long an output upload keeps retrying through an artifact store outage before the task fails. */
  uploadRetryMs: number;
  /** How long finished tasks stay in Redis before they are archived and removed (core retention-policy.ts). */
  retention: RetentionPolicy;
  /** How often the tracker holding the retention lease sweeps. */
  retentionSweepMs: number;
  /**
   * How long a task's live log stream stays after the task ends, for its followers to read it to
   * the end (core task-log-expiry.ts); its output files hold all of it after that.
   */
  logGraceMs: number;
  /**
   * How often the GPUs' usage is sampled with nvidia-smi (gpu/gpu-sampler.ts), published at each
   * heartbeat and metered per task; 0: not sampled.
   */
  gpuSampleMs: number;
  /**
   * How often the GPUs none of its tasks holds are checked for processes it did not start
   * (gpu/gpu-occupancy.ts); 0: only after a task gave GPUs back.
   */
  gpuCheckMs: number;
  /** More memory in use than this (MiB) on a GPU none of its tasks holds makes it busy. */
  gpuBusyMemoryMiB: number;
  /** How long a task's GPUs wait for its processes to leave them before they are drained; 0: not waited for. */
  gpuSettleMs: number;
  /**
   * MPS for the tasks that share a GPU (run/task-env.ts): `auto` (used when its control pipe is in
   * CUDA_MPS_PIPE_DIRECTORY or /tmp/nvidia-mps), `off`, or the pipe folder.
   */
  gpuMps: string;
  /** How often the GPUs' health is checked (gpu/gpu-health.ts: nvidia-smi, the Xid log); 0: not checked. */
  gpuHealthMs: number;
  /** GPUFLEET_XID_LOG: the kernel log Xid errors are read from, followed like `tail -F`; null: none. */
  xidLog: string | null;
  /** GPUFLEET_PORT_RANGE: the host ports services are given (service/port-pool.ts), both ends included. */
  portRange: PortRange;
  /** GPUFLEET_MAX_SHARES_PER_GPU: how many tasks may share one GPU (gpuShareMiB); null: as its memory allows. */
  maxSharesPerGpu: number | null;
  /** GPUFLEET_ADVERTISE_HOST: the host in the endpoints a service publishes; default the host name. */
  advertiseHost: string;
  /** GPUFLEET_SERVICE_CHECK_MS: how often a ready service's readiness check runs again; 0: never. */
  serviceCheckMs: number;
  /**
   * GPUFLEET_IDLE_EXIT_MS: the tracker stops after this long with no task running (a pilot job on
   * SLURM gives its node back); 0: never.
   */
  idleExitMs: number;
  /** GPUFLEET_BACKEND=slurm: each task a SLURM job (slurm/slurm-backend-config.ts); null: local processes. */
  slurm: SlurmBackendConfig | null;
  /**
   * GPUFLEET_WARNING_GRACE_MS: on SIGUSR1 (SLURM's time-limit warning, `--signal=B:USR1@secs`) the
   * tracker stops as on SIGTERM, its running tasks given this long rather than the shutdown grace.
   */
  warningGraceMs: number;
}

export const TRACKER_DEFAULTS = {
  prefix: 'gf',
  queue: 'default',
  workDir: './.gpufleet/work',
  leaseMs: 15_000,
  aliveMs: 3_000,
  sweepMs: 1_000,
  killGraceMs: 5_000,
  preemptGraceMs: 30_000,
  shutdownGraceMs: 30_000,
  unschedulableMs: 60_000,
  blockMs: 5_000,
  uploadRetryMs: 300_000,
  retentionSweepMs: 60_000,
  retention: DEFAULT_RETENTION,
  logGraceMs: DEFAULT_LOG_GRACE_MS,
  gpuSampleMs: 5_000,
  gpuCheckMs: 2_000,
  gpuBusyMemoryMiB: 1_024,
  gpuSettleMs: 30_000,
  gpuMps: 'auto',
  gpuHealthMs: 5_000,
  xidLog: null,
  portRange: DEFAULT_PORT_RANGE,
  maxSharesPerGpu: null,
  serviceCheckMs: 5_000,
  idleExitMs: 0,
  slurm: null,
  warningGraceMs: 30_000,
  allowEnvSetup: false,
  /** The host name, as the OS gives it when the module loads. */
  advertiseHost: hostname(),
} as const;

/** The shortest GPUFLEET_GPU_SAMPLE_MS but 0 (off): each sample runs nvidia-smi. */
const MIN_GPU_SAMPLE_MS = 50;

export function loadTrackerConfig(env: Env = process.env, cwd = process.cwd()): TrackerConfig {
  const r = new EnvReader(env);
  const name = (v: string): string | null => checkName(v);
  const leaseMs = r.int('GPUFLEET_LEASE_MS', TRACKER_DEFAULTS.leaseMs, { min: 1000 });
  const executers = r.raw('GPUFLEET_EXECUTERS');
  if (executers === undefined)
    r.fail('GPUFLEET_EXECUTERS', 'is required: one or more executer folders, separated by ":" or ","');
  const cpuRaw = r.raw('GPUFLEET_CPU_SLOTS');
  const artifactStore = r.string('ARTIFACT_STORE', DEFAULT_ARTIFACT_STORE);
  const config: TrackerConfig = {
    redisUrl: readRedisUrl(r),
    consumerName: r.string('REDIS_CONSUMER_NAME', hostname(), name),
    prefix: r.string('GPUFLEET_PREFIX', TRACKER_DEFAULTS.prefix, name),
    queue: r.string('GPUFLEET_QUEUE', TRACKER_DEFAULTS.queue, name),
    artifactStore,
    artifactStoreSettings: readArtifactStoreSettings(r, artifactStore, cwd),
    executerPaths: (executers ?? '')
      .split(/[:,]/)
      .filter(Boolean)
      .map((p) => resolve(cwd, p)),
    gpus: parseGpuList(r),
    cpuSlots: cpuRaw === undefined ? null : r.int('GPUFLEET_CPU_SLOTS', 0, { min: 0, max: 1024 }),
    workDir: resolve(cwd, r.string('GPUFLEET_WORKDIR', TRACKER_DEFAULTS.workDir)),
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    allowOptInExecuters: r.bool('GPUFLEET_ENABLE_OPT_IN_EXECUTERS', false),
    allowEnvSetup: r.bool('GPUFLEET_ALLOW_ENV_SETUP', TRACKER_DEFAULTS.allowEnvSetup),
    leaseMs,
    heartbeatMs: r.int('GPUFLEET_HEARTBEAT_MS', Math.floor(leaseMs / 3), {
      min: 100,
      max: Math.floor(leaseMs / 2),
    }),
    aliveMs: r.int('GPUFLEET_ALIVE_MS', TRACKER_DEFAULTS.aliveMs, { min: 300, max: 600_000 }),
    sweepMs: r.int('GPUFLEET_SWEEP_MS', TRACKER_DEFAULTS.sweepMs, { min: 100 }),
    killGraceMs: r.int('GPUFLEET_KILL_GRACE_MS', TRACKER_DEFAULTS.killGraceMs, { min: 0 }),
    preemptGraceMs: r.int('GPUFLEET_PREEMPT_GRACE_MS', TRACKER_DEFAULTS.preemptGraceMs, {
      min: 0,
      max: 3_600_000,
    }),
    shutdownGraceMs: r.int('GPUFLEET_SHUTDOWN_GRACE_MS', TRACKER_DEFAULTS.shutdownGraceMs, { min: 0 }),
    unschedulableMs: r.int('GPUFLEET_UNSCHEDULABLE_MS', TRACKER_DEFAULTS.unschedulableMs, { min: 0 }),
    blockMs: r.int('GPUFLEET_BLOCK_MS', TRACKER_DEFAULTS.blockMs, { min: 10, max: 60_000 }),
    keepTaskDirs: r.bool('GPUFLEET_KEEP_TASK_DIRS', false),
    taskInit: r.string('GPUFLEET_TASK_INIT', 'auto'),
    uploadRetryMs: r.int('GPUFLEET_UPLOAD_RETRY_MS', TRACKER_DEFAULTS.uploadRetryMs, { min: 0 }),
    retention: readRetentionPolicy(r),
    retentionSweepMs: r.int('GPUFLEET_RETENTION_SWEEP_MS', TRACKER_DEFAULTS.retentionSweepMs, {
      min: 100,
      max: 3_600_000,
    }),
    logGraceMs: readLogGraceMs(r),
    gpuSampleMs: r.int('GPUFLEET_GPU_SAMPLE_MS', TRACKER_DEFAULTS.gpuSampleMs, { min: 0, max: 3_600_000 }),
    gpuCheckMs: r.int('GPUFLEET_GPU_CHECK_MS', TRACKER_DEFAULTS.gpuCheckMs, { min: 0, max: 3_600_000 }),
    gpuBusyMemoryMiB: r.int('GPUFLEET_GPU_BUSY_MEMORY_MIB', TRACKER_DEFAULTS.gpuBusyMemoryMiB, {
      min: 0,
      max: 16_777_216,
    }),
    gpuSettleMs: r.int('GPUFLEET_GPU_SETTLE_MS', TRACKER_DEFAULTS.gpuSettleMs, { min: 0, max: 3_600_000 }),
    gpuMps: r.string('GPUFLEET_MPS', TRACKER_DEFAULTS.gpuMps, (v) =>
      v === 'auto' || v === 'off' || isAbsolute(v)
        ? null
        : 'must be auto, off or an absolute folder (the MPS pipe directory)',
    ),
    gpuHealthMs: r.int('GPUFLEET_GPU_HEALTH_MS', TRACKER_DEFAULTS.gpuHealthMs, { min: 0, max: 3_600_000 }),
    xidLog: r.string('GPUFLEET_XID_LOG', undefined, xidLogProblem) ?? null,
    portRange: readPortRange(r),
    maxSharesPerGpu:
      r.raw('GPUFLEET_MAX_SHARES_PER_GPU') === undefined
        ? null
        : r.int('GPUFLEET_MAX_SHARES_PER_GPU', 1, { min: 1, max: 64 }),
    advertiseHost: readAdvertiseHost(r, env, TRACKER_DEFAULTS.advertiseHost),
    serviceCheckMs: r.int('GPUFLEET_SERVICE_CHECK_MS', TRACKER_DEFAULTS.serviceCheckMs, {
      min: 0,
      max: 3_600_000,
    }),
    slurm: readSlurmBackend(r),
    idleExitMs: r.int('GPUFLEET_IDLE_EXIT_MS', TRACKER_DEFAULTS.idleExitMs, { min: 0, max: 2_147_483_647 }),
    warningGraceMs: r.int('GPUFLEET_WARNING_GRACE_MS', TRACKER_DEFAULTS.warningGraceMs, {
      min: 0,
      max: 86_400_000,
    }),
  };
  if (config.gpuHealthMs > 0 && config.gpuHealthMs < MIN_GPU_SAMPLE_MS) {
    r.fail(
      'GPUFLEET_GPU_HEALTH_MS',
      `must be 0 (off) or at least ${MIN_GPU_SAMPLE_MS} (got ${config.gpuHealthMs})`,
    );
  }
  if (config.gpuSampleMs > 0 && config.gpuSampleMs < MIN_GPU_SAMPLE_MS) {
    r.fail(
      'GPUFLEET_GPU_SAMPLE_MS',
      `must be 0 (off) or at least ${MIN_GPU_SAMPLE_MS} (got ${config.gpuSampleMs})`,
    );
  }
  r.done();
  return Object.freeze(config);
}
