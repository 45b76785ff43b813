/**
 * Submitting a task: checks a spec before any input is stored (shape, executer, parameters), and
 * enqueues it (one Lua step, which also applies the tenant's quota on waiting tasks) after
 * registering its queue in the fleet's queue set. The enqueue also writes what the trackers
 * schedule by: the queue's default priority for a spec without one, the tenant's fair-share
 * weight and running-GPU quota, and the fair-share half-life.
 */
import {
  DEFAULT_QUEUE,
  enqueue,
  paramsValidatorFor,
  parseTaskSpec,
  queueKeys,
  catalogFor,
  UnknownExecuterError,
  ValidationError,
  type CatalogEntry,
  type EnqueueResult,
  type TaskSpec,
} from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { checkCapacity, type Submitter } from './capacity-check.js';
import { findArchived } from './load-task.js';

/** The executer's catalog entry for `spec` (UnknownExecuterError when its queue offers none). */
async function entryOf(ctx: ApiContext, spec: TaskSpec, queue: string): Promise<CatalogEntry> {
  const catalog = await catalogFor(ctx.redis, queueKeys(ctx.prefix, queue), spec.executer);
  const entry = catalog.get(spec.executer);
  if (!entry) throw new UnknownExecuterError(spec.executer, queue, [...catalog.keys()].sort());
  return entry;
}

/**
 * Throws what `enqueue` would for a bad spec, and NO_CAPACITY for a task no live tracker can run
 * (capacity-check.ts), without writing anything.
 */
export async function checkSpec(ctx: ApiContext, value: unknown, who: Submitter): Promise<TaskSpec> {
  const spec = parseTaskSpec(value);
  const queue = spec.queue ?? DEFAULT_QUEUE;
  const entry = await entryOf(ctx, spec, queue);
  paramsValidatorFor(entry)(spec.params ?? {});
  await checkCapacity(ctx, spec, entry, queue, who);
  return spec;
}

function isAfterRefusal(error: unknown): boolean {
  return error instanceof ValidationError && error.issues.some((i) => i.field === 'after');
}

/** What a submission may add to its spec: the task it submits again (POST /v1/tasks/:id/resubmit). */
export interface SubmitExtras {
  resubmittedFrom?: string;
}

export async function submitTask(
  ctx: ApiContext,
  spec: TaskSpec,
  tenant: string,
  id: string,
  extras: SubmitExtras = {},
): Promise<EnqueueResult> {
  const queue = spec.queue ?? DEFAULT_QUEUE;
  // Before the enqueue, which resolves the executer again (from the same cached catalog).
  await checkCapacity(ctx, spec, await entryOf(ctx, spec, queue), queue, { tenant });
  await ctx.queues.register(queue);
  const options = {
    tenant,
    id,
    maxWaitingTasks: ctx.tenants.maxWaitingTasks(tenant),
    defaultPriority: ctx.defaultPriority(queue),
    scheduling: ctx.tenants.scheduling(tenant),
    fairShareHalfLifeMs: ctx.fairShareHalfLifeMs,
    resubmittedFrom: extras.resubmittedFrom,
  };
  const deps = { redis: ctx.redis, prefix: ctx.prefix, now: ctx.now };
  const result = await enqueue(deps, spec, options).catch(async (error: unknown) => {
    // `after` a task Redis no longer holds: one the retention sweep archived has ended, so the new
    // task waits for nothing (an unknown or another tenant's or queue's stays refused).
    if (!isAfterRefusal(error) || spec.after === undefined) throw error;
    const archived = await findArchived(ctx, spec.after, tenant);
    if (archived?.record.queue !== queue) throw error;
    return enqueue(deps, spec, { ...options, afterEnded: true });
  });
  ctx.finder.remember(result.id, result.queue);
  return result;
}
