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
  type EnqueueResult,
  type TaskSpec,
} from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';

/** Throws what `enqueue` would for a bad spec, without writing anything. */
export async function checkSpec(ctx: ApiContext, value: unknown): Promise<TaskSpec> {
  const spec = parseTaskSpec(value);
  const queue = spec.queue ?? DEFAULT_QUEUE;
  const catalog = await catalogFor(ctx.redis, queueKeys(ctx.prefix, queue), spec.executer);
  const entry = catalog.get(spec.executer);
  if (!entry) throw new UnknownExecuterError(spec.executer, queue, [...catalog.keys()].sort());
  paramsValidatorFor(entry)(spec.params ?? {});
  return spec;
}

export async function submitTask(
  ctx: ApiContext,
  spec: TaskSpec,
  tenant: string,
  id: string,
): Promise<EnqueueResult> {
  const queue = spec.queue ?? DEFAULT_QUEUE;
  await ctx.queues.register(queue);
  const result = await enqueue({ redis: ctx.redis, prefix: ctx.prefix, now: ctx.now }, spec, {
    tenant,
    id,
    maxWaitingTasks: ctx.tenants.maxWaitingTasks(tenant),
    defaultPriority: ctx.defaultPriority(queue),
    scheduling: ctx.tenants.scheduling(tenant),
    fairShareHalfLifeMs: ctx.fairShareHalfLifeMs,
  });
  ctx.finder.remember(result.id, result.queue);
  return result;
}
