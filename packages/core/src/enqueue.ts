/**
 * `enqueue()`: validates a task spec (shape, executer, parameters), resolves its defaults from the
 * queue's executer catalog and writes the task in one Lua step. The API and the CLI call this.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  GpufleetError,
  IdempotencyConflictError,
  QuotaExceededError,
  UnknownExecuterError,
  ValidationError,
} from './errors.js';
import { catalogFor, type CatalogEntry } from './executer-catalog.js';
import { paramsValidatorFor } from './executers/catalog-params.js';
import { gpuRequestSuffix, type GpuRequest } from './gpu-request.js';
import { newTaskId } from './ids.js';
import { settingsValue, type SchedulingSettings } from './fair-share.js';
import { settingToSend, settingWritten } from './settings-writes.js';
import { checkName, queueKeys, schedulingKeys } from './keys.js';
import { argvHead } from './protocol/argv-head.js';
import { stringsReply } from './redis-replies.js';
import { fieldArgs } from './scripts.js';
import { runScript } from './run-script.js';
import { DEFAULT_PRIORITY, priorityIssue } from './task-priority.js';
import { DEFAULT_MAX_ATTEMPTS, parseTaskSpec, type TaskSpec } from './task-spec.js';

export interface EnqueueDeps {
  redis: Redis;
  /** Key prefix of the fleet (`gf`). */
  prefix: string;
  now?: () => number;
}

export interface EnqueueOptions {
  tenant?: string;
  /** A task id made beforehand (the API stores inputs under it first). */
  id?: string;
  /** How long an idempotency key is remembered; default 24 h. */
  idempotencyTtlMs?: number;
  /**
   * The most tasks the tenant may have waiting (status `queued`) in the task's queue; a task
   * beyond it is refused with QuotaExceededError, atomically with the count. Default: no limit.
   */
  maxWaitingTasks?: number | null;
  /** The priority of a task whose spec gives none (the queue's default); default DEFAULT_PRIORITY. */
  defaultPriority?: number;
  /**
   * The tenant's fair-share weight and running-GPU quota in the task's queue, written for take to
   * read (fair-share.ts) when new or changed, and again every SETTINGS_REWRITE_MS
   * (settings-writes.ts); omitted: left as the queue has them (a weight of 1, no quota, at first).
   */
  scheduling?: SchedulingSettings;
  /** The fair-share half-life (ms) to write for the queue; omitted: left as it is. */
  fairShareHalfLifeMs?: number;
  /**
   * The task this one submits again (the API's POST /v1/tasks/:id/resubmit): written in its record,
   * and part of the body its idempotency key compares (another original is another body).
   */
  resubmittedFrom?: string;
  /**
   * The spec's `after` names a task known to have ended that Redis no longer holds (the API found
   * it in the archive): the task is recorded with its `after` and waits for nothing.
   */
  afterEnded?: boolean;
}

export interface EnqueueResult {
  id: string;
  queue: string;
  /** False when an earlier enqueue with the same idempotency key and body made the task. */
  created: boolean;
}

export const DEFAULT_QUEUE = 'default';
export { EVENTS_MAX_LEN } from './protocol/argv-head.js';
const IDEMPOTENCY_TTL_MS = 86_400_000;

/** Stable JSON: object keys sorted, so equal bodies hash equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** How an Idempotency-Key names its Redis key (`QueueKeys.idempotency(tenant, hash)`). */
export function idempotencyKeyHash(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32);
}

/** The hash an idempotency key compares: the spec's, and the task it submits again when it does. */
export function specHash(spec: TaskSpec, resubmittedFrom?: string): string {
  const body = resubmittedFrom === undefined ? spec : { spec, resubmittedFrom };
  return createHash('sha256').update(canonical(body)).digest('hex');
}

/**
 * The task's GPU request (gpu-request.ts): its spec's, else its executer's default. A task of no
 * GPU has none; one whose spec asks for a model or memory with no GPU is refused.
 */
export function resolveGpuRequest(spec: TaskSpec, entry: CatalogEntry, gpus: number): GpuRequest {
  if (gpus === 0) {
    const field = spec.gpuModels
      ? 'gpuModels'
      : spec.minGpuMemoryMiB !== undefined
        ? 'minGpuMemoryMiB'
        : spec.gpuShareMiB !== undefined
          ? 'gpuShareMiB'
          : null;
    if (field)
      throw new ValidationError('invalid task', [
        { field, reason: 'asks for a GPU model, memory or share, but the task asks for no GPU (gpus is 0)' },
      ]);
    return { models: [], minMemoryMiB: null };
  }
  const request = {
    models: spec.gpuModels ?? entry.gpuModels ?? [],
    minMemoryMiB: spec.minGpuMemoryMiB ?? entry.minGpuMemoryMiB ?? null,
  };
  // A share is of one GPU: the executer's default share applies to a task of one GPU only.
  if (spec.gpuShareMiB !== undefined && gpus !== 1)
    throw new ValidationError('invalid task', [
      {
        field: 'gpuShareMiB',
        reason: `a share is of one GPU, but the task asks for ${gpus} (gpus must be 1)`,
      },
    ]);
  const share = spec.gpuShareMiB ?? (gpus === 1 ? entry.gpuShareMiB : undefined);
  return share === undefined ? request : { ...request, shareMiB: share };
}

function resolveExecuter(catalog: Map<string, CatalogEntry>, spec: TaskSpec, queue: string): CatalogEntry {
  const entry = catalog.get(spec.executer);
  if (!entry) throw new UnknownExecuterError(spec.executer, queue, [...catalog.keys()].sort());
  return entry;
}

export async function enqueue(
  deps: EnqueueDeps,
  input: unknown,
  options: EnqueueOptions = {},
): Promise<EnqueueResult> {
  const spec = parseTaskSpec(input);
  const queue = spec.queue ?? DEFAULT_QUEUE;
  const tenant = options.tenant ?? 'default';
  const limit = options.maxWaitingTasks ?? null;
  if (limit !== null && !(Number.isSafeInteger(limit) && limit >= 0))
    throw new TypeError(`maxWaitingTasks must be an integer >= 0 (got ${limit})`);
  const defaultPriority = options.defaultPriority ?? DEFAULT_PRIORITY;
  if (priorityIssue(defaultPriority))
    throw new TypeError(`defaultPriority ${priorityIssue(defaultPriority)}`);
  const tenantIssue = checkName(tenant);
  if (tenantIssue) throw new ValidationError('invalid task', [{ field: 'tenant', reason: tenantIssue }]);
  const keys = queueKeys(deps.prefix, queue);
  // Sent only when new or due again (settings-writes.ts); written by the script with the task.
  const settingsKey = `${keys.tenantSettings} ${tenant}`;
  const settings = settingToSend(
    deps.redis,
    settingsKey,
    options.scheduling ? settingsValue(options.scheduling) : '',
  );
  const halfLife = settingToSend(deps.redis, keys.tenantUsage, String(options.fairShareHalfLifeMs ?? ''));
  const entry = resolveExecuter(await catalogFor(deps.redis, keys, spec.executer), spec, queue);
  const params = paramsValidatorFor(entry)(spec.params ?? {});
  const gpus = spec.gpus ?? entry.gpus;
  const request = resolveGpuRequest(spec, entry, gpus);
  const now = (deps.now ?? Date.now)();
  const id = options.id ?? newTaskId(now);
  const idemKey = spec.idempotencyKey;
  const hash = idemKey ? specHash(spec, options.resubmittedFrom) : '';
  const keyHash = idemKey ? idempotencyKeyHash(idemKey) : '_';
  const reply = await runScript(
    deps.redis,
    'enqueue',
    [
      keys.task(id),
      keys.tasks(gpus),
      keys.events,
      keys.idempotency(tenant, keyHash),
      keys.index,
      keys.taskStreams,
      keys.lastEntry,
      ...schedulingKeys(keys),
      keys.tenantRecords,
      ...(spec.after !== undefined && !options.afterEnded ? [keys.task(spec.after), keys.delayed] : []),
    ],
    argvHead(now),
    [
      id,
      hash,
      options.idempotencyTtlMs ?? IDEMPOTENCY_TTL_MS,
      gpus,
      tenant,
      limit ?? '',
      settings,
      halfLife,
      ...fieldArgs({
        queue,
        tenant,
        executer: spec.executer,
        executerVersion: entry.version,
        params: JSON.stringify(params),
        gpus,
        gpuModels: request.models.length > 0 ? JSON.stringify(request.models) : undefined,
        minGpuMemoryMiB: request.minMemoryMiB ?? undefined,
        gpuShareMiB: request.shareMiB ?? undefined,
        gpuRequest: gpuRequestSuffix(request) || undefined,
        timeLimitMs: spec.timeLimitMs ?? entry.timeLimitMs,
        maxAttempts: spec.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        retries: spec.retries ?? 0,
        retryBackoff: spec.retryBackoff ? JSON.stringify(spec.retryBackoff) : undefined,
        inputs: JSON.stringify(spec.inputs ?? []),
        idempotencyKey: idemKey,
        name: spec.name,
        tags: spec.tags && Object.keys(spec.tags).length > 0 ? JSON.stringify(spec.tags) : undefined,
        priority: spec.priority ?? defaultPriority,
        preemptible: spec.preemptible ? 1 : undefined,
        waitForCapacity: spec.waitForCapacity ? 1 : undefined,
        resubmittedFrom: options.resubmittedFrom,
        after: spec.after,
        envSetup: spec.envSetup,
        slurm: spec.slurm && Object.keys(spec.slurm).length > 0 ? JSON.stringify(spec.slurm) : undefined,
      }),
    ],
  );
  const [outcome, taskId = '', waiting = ''] = stringsReply(reply);
  if (outcome === 'created') {
    settingWritten(deps.redis, settingsKey, settings);
    settingWritten(deps.redis, keys.tenantUsage, halfLife);
    return { id: taskId, queue, created: true };
  }
  if (outcome === 'quota') {
    const [limit, count] = [Number(taskId), Number(waiting)];
    throw new QuotaExceededError({ tenant, queue, limit, waiting: count });
  }
  if (outcome === 'exists') return { id: taskId, queue, created: false };
  if (outcome === 'after-missing')
    throw new ValidationError('invalid task', [
      { field: 'after', reason: `no task ${taskId} of this tenant in queue "${queue}" to wait for` },
    ]);
  if (outcome === 'conflict') throw new IdempotencyConflictError(taskId);
  throw new GpufleetError('TASK_ID_TAKEN', `task id ${taskId} is already taken`);
}
