/**
 * The types an attempt's phases share: what the tracker gives each attempt (its dependencies,
 * among them the `emit` of its events) and what it keeps of a running attempt.
 */
import type { Redis } from 'ioredis';
import type { ArtifactStore, Claim, LoadedExecuter, Logger, OutageReporter, QueueKeys } from '@gpufleet/core';
import type { GpuSampler } from '../gpu/gpu-sampler.js';
import type { KillReason } from '../process/executer-process.js';
import type { SpareFolders } from './spare-folders.js';
import type { Spawner } from '../process/spawner.js';
import type { ServiceDeps } from '../service/service-run.js';
import type { JobScriptInput } from '../slurm/job-script.js';

/** The partition, account, memory and CPUs of a SLURM backend's jobs. */
export type SlurmJobResources = JobScriptInput['resources'];
import type { EmitTrackerEvent } from '../tracker-events.js';

export interface TaskExecutionDeps {
  /** Announces the attempt's events (see tracker-events.ts): claimed is the loop's, the rest its own. */
  emit: EmitTrackerEvent;
  redis: Redis;
  keys: QueueKeys;
  store: ArtifactStore;
  executers: ReadonlyMap<string, LoadedExecuter>;
  consumer: string;
  workDir: string;
  leaseMs: number;
  heartbeatMs: number;
  killGraceMs: number;
  /** SIGTERM → SIGKILL grace of a preempted task, in a preemptible task's environment too. */
  preemptGraceMs: number;
  /** GPUFLEET_MPS: `auto`, `off` or the MPS pipe folder, for the tasks that share a GPU (task-env.ts). */
  gpuMps: string;
  /** Runs tasks' env setup lines (GPUFLEET_ALLOW_ENV_SETUP); absent: refuses them (run/env-setup.ts). */
  allowEnvSetup?: boolean;
  /** How long output uploads retry through artifact store outages. */
  uploadRetryMs: number;
  keepTaskDirs: boolean;
  /** How long the task's live log stream stays once the task is final (core task-log-expiry.ts). */
  logGraceMs: number;
  /** Where this tracker records the process groups it started (see pid-files). */
  pidDir: string;
  /** Where "Redis is unreachable" goes (one line a second for the whole process). */
  outage: OutageReporter;
  /**
   * Aborted when a shutting-down tracker stops waiting for Redis: Redis writes are no longer
   * retried, and what was not written is recovered by the other trackers as after a crash.
   */
  giveUp?: AbortSignal;
  /**
   * Aborted when the tracker's shutdown begins. A service (service/service-run.ts) is stopped at
   * once and handed back: it would not end within any grace.
   */
  shutdown?: AbortSignal;
  /** The environment executers inherit: executerBaseEnv(process.env), read once per tracker. */
  baseEnv: Readonly<Record<string, string>>;
  /** Task folders made ahead (see spare-folders.ts); without, each folder is made on the spot. */
  spares?: SpareFolders;
  /** The tracker's spawner (gpufleet-task-init), or null to start executers with Node's spawn. */
  spawner: Spawner | null;
  /** Samples the GPUs' usage, which each GPU attempt meters while its process runs (absent: none). */
  gpuSampler?: GpuSampler;
  /**
   * Looks at the GPUs' health now (gpu/gpu-health.ts): asked before a GPU attempt whose process
   * ended without succeeding is settled, so that one a GPU fault ended is handed back (absent: none).
   */
  gpuCheck?: () => Promise<void>;
  /**
   * A tracker that fronts a SLURM partition (GPUFLEET_BACKEND=slurm): each attempt is a SLURM job
   * (slurm/slurm-job.ts) with these resources, polled every `pollMs`; absent: local processes.
   */
  slurm?: { resources: SlurmJobResources; pollMs: number };
  /** Ports, advertised host and checks for the services it runs (service/service-run.ts); absent: it runs none. */
  services?: ServiceDeps;
  logger: Logger;
  now: () => number;
}

/** A running attempt as the tracker sees it: enough to kill it from outside. */
export interface RunningTask {
  claim: Claim;
  gpuIds: readonly number[];
  kill(reason: KillReason): void;
  /**
   * Stops it for task `by` of higher priority (preemption.ts): SIGTERM, SIGKILL after `graceMs`;
   * it is then handed back to the queue, the attempt not counted.
   */
  preempt(by: string, graceMs: number): void;
  /**
   * A GPU of it failed (`reason`, gpu/gpu-health.ts): SIGTERM, SIGKILL after the kill grace (if its
   * process still runs); it is then handed back first in line, the attempt not counted, with
   * errorCode GPU_ERROR. A process that already ended without succeeding is handed back so too.
   */
  gpuFailed(reason: string): void;
  /** Settles when its process has ended (or will never start): its GPUs are free again. */
  exited: Promise<void>;
  /** Whether `exited` has settled. */
  readonly hasExited: boolean;
  /** Settles when the task is complete: outputs stored, final status written. */
  done: Promise<void>;
  /** Settles when its folder and records are cleaned up too. */
  cleanup: Promise<void>;
}
