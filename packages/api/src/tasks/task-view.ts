/**
 * How a task looks over HTTP: the record with ISO timestamps, its queue position, why it waits and
 * when it is expected to start while it is queued, and a summary of its outputs (the full manifest is GET /tasks/:id/outputs).
 * The list view is a shorter summary; both say whether it is preemptible and how often it was
 * preempted, so `ls` can mark such tasks without reading each one, and whether it was read from
 * the archive (a task that ended long enough ago to leave Redis). The full view also has the last
 * ended attempt's GPU usage (peak memory, mean utilisation), and the task it was submitted again
 * from, if it was. Both carry a running service's state and endpoints (`service`).
 */
import { Type, type Static, type TUnsafe } from '@fastify/type-provider-typebox';
import {
  PRIORITY_MAX,
  PRIORITY_MIN,
  SERVICE_STATES,
  SlurmResourcesSchema,
  TaskInputSchema,
  type ServiceStatus,
} from '@gpufleet/core';
import { isoTime, Nullable, TaskFailureCodeSchema, TaskStatusSchema, Timestamp } from '../schemas/common.js';
import type { FoundTask } from './task-finder.js';
import { WAIT_REASONS, type WaitReason } from './wait-reason.js';

/** Why a queued task waits, or null (written out: Nullable() would leave null out of the enum). */
export const WaitReasonSchema: TUnsafe<WaitReason | null> = Type.Unsafe<WaitReason | null>({
  type: ['string', 'null'],
  enum: [...WAIT_REASONS, null],
  description:
    'while queued, why it waits (docs/api.md): Priority, FairShare, Quota, Resources, Reservation, Preemption, Unschedulable, BeginTime or Dependency; otherwise null',
});

/** Where a queued task stands: its place in line, why it waits, and by when it should start. */
export interface WaitView {
  position: number | null;
  reason: WaitReason;
  /** The time (ms) of the queue's backfill reservation when it is this task's and known. */
  expectedStartAt: number | null;
}

export const OutputSummarySchema = Type.Object({
  attempt: Type.Integer({ description: 'the attempt whose outputs these are' }),
  files: Type.Integer(),
  bytes: Type.Integer(),
});

export const ServiceViewSchema = Type.Object(
  {
    state: Type.Union(
      SERVICE_STATES.map((s) => Type.Literal(s)),
      {
        description:
          '`waiting-for-port`: its tracker has no free port in its range (`reason`); `starting`: spawned, not ready yet; ' +
          '`ready`: its readiness check passed, `endpoints` set; `restarting`: it exited or failed its check (`reason`)',
      },
    ),
    endpoints: Nullable(
      Type.Record(Type.String(), Type.String(), {
        description: 'port name → host:port, only while ready (the host its tracker advertises)',
      }),
    ),
    readyAt: Nullable(Timestamp),
    restarts: Type.Integer({ minimum: 0, description: 'restarts in this attempt so far' }),
    reason: Nullable(Type.String({ description: 'why it waits for a port or restarts' })),
  },
  { description: 'a running service’s state (an executer with a `service` block); null otherwise' },
);

export const TaskSummarySchema = Type.Object({
  id: Type.String(),
  queue: Type.String(),
  executer: Type.String(),
  name: Nullable(Type.String({ description: 'the name given at submission; null when none' })),
  tags: Type.Record(Type.String(), Type.String(), {
    description: 'the tags given at submission; {} when none',
  }),
  priority: Type.Integer({
    minimum: PRIORITY_MIN,
    maximum: PRIORITY_MAX,
    description: 'higher starts first; as submitted (or the queue’s default), or as last changed',
  }),
  preemptible: Type.Boolean({
    description: 'submitted preemptible: it may be stopped and requeued for a task of higher priority',
  }),
  preemptions: Type.Integer({
    minimum: 0,
    description:
      'how many times it was stopped and requeued for a task of higher priority (none counted as an attempt)',
  }),
  preemptedBy: Nullable(
    Type.String({
      description: 'the id of the task of higher priority that preempted it last; null when never preempted',
    }),
  ),
  status: TaskStatusSchema,
  attempt: Type.Integer({ description: 'deliveries so far; 0 while it never ran' }),
  tracker: Nullable(Type.String()),
  createdAt: Timestamp,
  startedAt: Nullable(Timestamp),
  endedAt: Nullable(Timestamp),
  exitCode: Nullable(Type.Integer()),
  error: Nullable(Type.String()),
  errorCode: TaskFailureCodeSchema,
  archived: Type.Boolean({
    description:
      'read from the archive: the task ended long enough ago that it left Redis (its outputs are kept unless an outputs retention is set)',
  }),
  archivedAt: Nullable(
    Type.Integer({ description: 'when it was archived (ms since the epoch); null while it is in Redis' }),
  ),
  tenant: Type.String({ description: 'the tenant it belongs to (whose key submitted it)' }),
  gpus: Type.Integer({ minimum: 0, description: 'the GPUs it asked for (0: a CPU slot)' }),
  service: Nullable(ServiceViewSchema),
});
export type TaskSummary = Static<typeof TaskSummarySchema>;

export const TaskViewSchema = Type.Object({
  ...TaskSummarySchema.properties,
  executerVersion: Nullable(Type.String()),
  params: Type.Record(Type.String(), Type.Unknown()),
  gpuIds: Type.Array(Type.Integer(), { description: 'the GPUs of the current or last attempt' }),
  gpuModels: Type.Array(Type.String(), {
    description:
      'the GPU models it may run on, any of them (as submitted, or its executer’s default); [] any',
  }),
  minGpuMemoryMiB: Nullable(
    Type.Integer({ description: 'the least total memory of each of its GPUs (MiB); null any' }),
  ),
  gpuShareMiB: Nullable(
    Type.Integer({
      description:
        'the share of one GPU it runs in (MiB of its memory, beside other shares); null: its GPUs are its alone',
    }),
  ),
  timeLimitMs: Type.Integer(),
  maxAttempts: Type.Integer(),
  signal: Nullable(Type.String()),
  cancelRequested: Type.Boolean(),
  queuePosition: Nullable(
    Type.Integer({
      description:
        'while queued: waiting tasks a tracker takes before this one (0 = next); null otherwise, ' +
        'and while it waits out a retry backoff',
    }),
  ),
  waitReason: WaitReasonSchema,
  expectedStartAt: Nullable(
    Type.Integer({
      description:
        'while queued and a tracker’s GPUs are reserved for it: when (ms since the epoch) they free by the ' +
        'time limits of its running tasks, the latest it should start (it may start sooner); null otherwise',
    }),
  ),
  notBefore: Nullable(Type.String({ format: 'date-time', description: 'waiting out a retry backoff until' })),
  inputs: Type.Array(TaskInputSchema),
  idempotencyKey: Nullable(Type.String()),
  outputs: Nullable(OutputSummarySchema),
  outputsDeletedAt: Nullable(
    Type.String({
      format: 'date-time',
      description:
        'when the outputs retention deleted its outputs (GPUFLEET_OUTPUTS_RETENTION); null while kept',
    }),
  ),
  gpuPeakMemoryMiB: Nullable(
    Type.Number({
      description:
        'the last ended attempt’s peak GPU memory, MiB: per usage sample the sum of memory.used over its GPUs, the highest of those sums; null for a CPU task, or when no sample was taken while it ran',
    }),
  ),
  gpuMeanUtilizationPercent: Nullable(
    Type.Number({
      description:
        'the last ended attempt’s mean GPU utilisation, percent, over its usage samples and its GPUs; null likewise',
    }),
  ),
  resubmittedFrom: Nullable(
    Type.String({
      description: 'the task it was submitted again from (POST /v1/tasks/:id/resubmit); null otherwise',
    }),
  ),
  serviceStopped: Nullable(
    Type.String({
      description: 'a service its lifetime ended (idle timeout, maximum age): why; null otherwise',
    }),
  ),
  after: Nullable(
    Type.String({
      description: 'the task it waits for to end before it may start (`after`); null when none',
    }),
  ),
  envSetup: Nullable(
    Type.String({ description: 'the shell line run before its executer (`envSetup`); null when none' }),
  ),
  slurm: SlurmResourcesSchema,
});
export type TaskView = Static<typeof TaskViewSchema>;

export function toTaskSummary({ record, archivedAt }: FoundTask): TaskSummary {
  return {
    id: record.id,
    queue: record.queue,
    executer: record.executer,
    name: record.name,
    tags: record.tags,
    priority: record.priority,
    preemptible: record.preemptible,
    preemptions: record.preemptions,
    preemptedBy: record.preemptedBy,
    status: record.status,
    attempt: record.attempt,
    tracker: record.tracker,
    createdAt: new Date(record.createdAt).toISOString(),
    startedAt: isoTime(record.startedAt),
    endedAt: isoTime(record.endedAt),
    exitCode: record.exitCode,
    error: record.error,
    errorCode: record.errorCode,
    archived: archivedAt !== null,
    archivedAt,
    tenant: record.tenant,
    gpus: record.gpus,
    service: serviceView(record.service),
  };
}

function serviceView(service: ServiceStatus | null | undefined): Static<typeof ServiceViewSchema> | null {
  if (!service) return null;
  return { ...service, readyAt: isoTime(service.readyAt) };
}

/** The task's view; `wait`: where it stands while it is queued (ignored otherwise). */
export function toTaskView(found: FoundTask, wait: WaitView | null): TaskView {
  const { record, raw, archivedAt } = found;
  const outputs = record.outputs;
  const queued = record.status === 'queued';
  let bytes = 0;
  for (const file of outputs?.files ?? []) bytes += file.size;
  // One object literal in schema order (no spread): cheaper to build and to serialize.
  return {
    id: record.id,
    queue: record.queue,
    executer: record.executer,
    name: record.name,
    tags: record.tags,
    priority: record.priority,
    preemptible: record.preemptible,
    preemptions: record.preemptions,
    preemptedBy: record.preemptedBy,
    status: record.status,
    attempt: record.attempt,
    tracker: record.tracker,
    createdAt: new Date(record.createdAt).toISOString(),
    startedAt: isoTime(record.startedAt),
    endedAt: isoTime(record.endedAt),
    exitCode: record.exitCode,
    error: record.error,
    errorCode: record.errorCode,
    archived: archivedAt !== null,
    archivedAt,
    tenant: record.tenant,
    gpus: record.gpus,
    service: serviceView(record.service),
    executerVersion: raw.executerVersion || null,
    params: record.params,
    gpuIds: record.gpuIds,
    gpuModels: [...record.gpuRequest.models],
    minGpuMemoryMiB: record.gpuRequest.minMemoryMiB,
    gpuShareMiB: record.gpuRequest.shareMiB ?? null,
    timeLimitMs: record.timeLimitMs,
    maxAttempts: record.maxAttempts,
    signal: record.signal,
    cancelRequested: record.cancelRequested,
    queuePosition: queued ? (wait?.position ?? null) : null,
    waitReason: queued ? (wait?.reason ?? null) : null,
    expectedStartAt: queued ? (wait?.expectedStartAt ?? null) : null,
    notBefore: queued ? isoTime(record.notBefore) : null,
    inputs: record.inputs,
    idempotencyKey: record.idempotencyKey,
    outputs: outputs ? { attempt: outputs.attempt, files: outputs.files.length, bytes } : null,
    outputsDeletedAt: isoTime(found.outputsDeletedAt ?? null),
    // An archive written before these fields has none.
    gpuPeakMemoryMiB: record.gpuPeakMemoryMiB ?? null,
    gpuMeanUtilizationPercent: record.gpuMeanUtilizationPercent ?? null,
    resubmittedFrom: record.resubmittedFrom ?? null,
    serviceStopped: record.serviceStopped ?? null,
    // An archive written before these fields has none.
    after: record.after ?? null,
    envSetup: record.envSetup ?? null,
    slurm: record.slurm ?? {},
  };
}

/**
 * Where the task waits in line now (its wait set and member: lua/lib-wait.lua addWaiting), or
 * null when it is not queued, waits out a retry backoff, or is being taken.
 */
export function waitPlace(found: FoundTask, now: number): { waitSet: string; waitMember: string } | null {
  const { status, notBefore } = found.record;
  const { waitSet, waitMember } = found.raw;
  if (status !== 'queued' || !waitSet || !waitMember || (notBefore !== null && notBefore > now)) return null;
  return { waitSet, waitMember };
}
