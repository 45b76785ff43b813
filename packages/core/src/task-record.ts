/**
 * The task record as stored in its Redis hash, and its typed reading. Structured fields are
 * JSON strings; empty strings mean "not set".
 */
import type { Redis } from 'ioredis';
import type { GpuRequest } from './gpu-request.js';
import type { QueueKeys } from './keys.js';
import { isTaskFailureCode, type TaskFailureCode } from './task-failures.js';
import { parseServiceStatus, type ServiceStatus } from './service-state.js';
import { isTaskStatus, type TaskStatus } from './task-status.js';
import { DEFAULT_PRIORITY } from './task-priority.js';
import { DEFAULT_MAX_ATTEMPTS, type RetryBackoff, type SlurmResources, type TaskInput } from './task-spec.js';

export interface OutputFile {
  /** Path relative to the task's outputs (`stdout.txt`, `frames/0001.csv`). */
  path: string;
  size: number;
  sha256: string;
}

export interface OutputManifest {
  /** Artifact-store key prefix under which `path`s live: `tenant/task/attempt/outputs`. */
  prefix: string;
  attempt: number;
  files: OutputFile[];
}

export interface TaskRecord {
  id: string;
  queue: string;
  tenant: string;
  executer: string;
  params: Record<string, unknown>;
  gpus: number;
  /** What it asks of each of its GPUs (gpu-request.ts): models (any of; [] any) and least memory. */
  gpuRequest: GpuRequest;
  /** It may wait for a tracker that can run it (the spec's `waitForCapacity`). */
  waitForCapacity: boolean;
  timeLimitMs: number;
  maxAttempts: number;
  retries: number;
  retryBackoff: RetryBackoff | null;
  inputs: TaskInput[];
  idempotencyKey: string | null;
  /** The submitter's name for the task (task-labels.ts); null when none was given. */
  name: string | null;
  /** The submitter's tags; `{}` when none were given. */
  tags: Record<string, string>;
  /** 0-1000, higher starts first (task-priority.ts). */
  priority: number;
  /** It may be stopped and requeued for a task of higher priority (preemption.ts). */
  preemptible: boolean;
  /** How many times it was preempted (none counted as an attempt). */
  preemptions: number;
  /** The task of higher priority that preempted it last; null when never preempted. */
  preemptedBy: string | null;
  status: TaskStatus;
  attempt: number;
  tracker: string | null;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  exitCode: number | null;
  signal: string | null;
  error: string | null;
  /** Why it ended without succeeding, as a stable code (task-failures.ts); null otherwise. */
  errorCode: TaskFailureCode | null;
  gpuIds: number[];
  outputs: OutputManifest | null;
  cancelRequested: boolean;
  /** Failed runs so far (each retry is a new attempt). */
  failures: number;
  /** While waiting out a retry backoff: when it may run again. */
  notBefore: number | null;
  /** The last lines of the last attempt's stderr. */
  stderrTail: string | null;
  durationMs: number | null;
  /**
   * The last attempt's peak GPU memory, MiB: per sample the sum of memory.used over its GPUs, the
   * highest of its samples. null: a CPU task, or no sample was taken while it ran.
   */
  gpuPeakMemoryMiB: number | null;
  /** The last attempt's mean GPU utilisation, percent, over its samples and its GPUs; null likewise. */
  gpuMeanUtilizationPercent: number | null;
  /** The task it was submitted again from (POST /v1/tasks/:id/resubmit); null otherwise. */
  resubmittedFrom: string | null;
  /** A service's live state while it runs (service-state.ts); null for a batch task and once it stopped. */
  service: ServiceStatus | null;
  /** Why a service's lifetime ended it (its idle timeout, its maximum age); null otherwise. */
  serviceStopped: string | null;
  /** The task it waits for to end before it may start (the spec's `after`); null when none. */
  after: string | null;
  /** The shell line run before its executer (the spec's `envSetup`); null when none. */
  envSetup: string | null;
  /** What a SLURM-backend tracker asks of SLURM for it beyond its own defaults; `{}` when nothing. */
  slurm: SlurmResources;
}

function num(value: string | undefined): number | null {
  return value === undefined || value === '' ? null : Number(value);
}

function str(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}

function json<T>(value: string | undefined, fallback: T): T {
  return value === undefined || value === '' ? fallback : (JSON.parse(value) as T);
}

export function parseTaskRecord(hash: Record<string, string>): TaskRecord | null {
  if (!hash.id || !hash.status || !isTaskStatus(hash.status)) return null;
  return {
    id: hash.id,
    queue: hash.queue ?? '',
    tenant: hash.tenant ?? 'default',
    executer: hash.executer ?? '',
    params: json(hash.params, {}),
    gpus: num(hash.gpus) ?? 0,
    gpuRequest: {
      models: json(hash.gpuModels, []),
      minMemoryMiB: num(hash.minGpuMemoryMiB),
      shareMiB: num(hash.gpuShareMiB),
    },
    waitForCapacity: hash.waitForCapacity === '1',
    timeLimitMs: num(hash.timeLimitMs) ?? 0,
    maxAttempts: num(hash.maxAttempts) ?? DEFAULT_MAX_ATTEMPTS,
    retries: num(hash.retries) ?? 0,
    retryBackoff: json(hash.retryBackoff, null),
    inputs: json(hash.inputs, []),
    idempotencyKey: str(hash.idempotencyKey),
    name: str(hash.name),
    tags: json(hash.tags, {}),
    priority: num(hash.priority) ?? DEFAULT_PRIORITY,
    preemptible: hash.preemptible === '1',
    preemptions: num(hash.preemptions) ?? 0,
    preemptedBy: str(hash.preemptedBy),
    status: hash.status,
    attempt: num(hash.attempt) ?? 0,
    tracker: str(hash.tracker),
    createdAt: num(hash.createdAt) ?? 0,
    startedAt: num(hash.startedAt),
    endedAt: num(hash.endedAt),
    exitCode: num(hash.exitCode),
    signal: str(hash.signal),
    error: str(hash.error),
    errorCode: hash.errorCode && isTaskFailureCode(hash.errorCode) ? hash.errorCode : null,
    gpuIds: json(hash.gpuIds, []),
    outputs: json(hash.outputs, null),
    cancelRequested: Boolean(str(hash.cancelRequested)),
    failures: num(hash.failures) ?? 0,
    notBefore: num(hash.notBefore),
    stderrTail: str(hash.stderrTail),
    durationMs: num(hash.durationMs),
    gpuPeakMemoryMiB: num(hash.gpuPeakMemoryMiB),
    gpuMeanUtilizationPercent: num(hash.gpuMeanUtilizationPercent),
    resubmittedFrom: str(hash.resubmittedFrom),
    service: parseServiceStatus(hash),
    serviceStopped: str(hash.serviceStopped),
    after: str(hash.after),
    envSetup: str(hash.envSetup),
    slurm: json(hash.slurm, {}),
  };
}

export async function getTask(redis: Redis, keys: QueueKeys, id: string): Promise<TaskRecord | null> {
  return parseTaskRecord(await redis.hgetall(keys.task(id)));
}

/** Artifact-store key prefix of a task's inputs. */
export function inputsPrefix(tenant: string, taskId: string): string {
  return `${tenant}/${taskId}/inputs`;
}

/** Artifact-store key prefix of one attempt: its `outputs/` and its `manifest.json` live under it. */
export function attemptPrefix(tenant: string, taskId: string, attempt: number): string {
  return `${tenant}/${taskId}/${attempt}`;
}
