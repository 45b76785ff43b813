/**
 * Refused at submission when impossible: a task that no live tracker of its queue can ever run (no
 * tracker offers its executer, none has enough GPUs or a CPU slot, none has enough GPUs of the
 * model or memory it asks for, or it has an env setup line and a tracker that would take it does
 * not run them) is answered NO_CAPACITY (422) naming the shortfall by field, before
 * anything is written or uploaded, unless its spec says `waitForCapacity`. The live trackers are
 * read at most once a second (core fleet-capacity.ts) and again before a refusal, so a tracker that
 * has just joined counts. A replay of a submission already accepted (its Idempotency-Key known)
 * is never refused: it answers with the task it made.
 */
import {
  capacityShortfall,
  idempotencyKeyHash,
  liveTrackersFor,
  queueKeys,
  resolveGpuRequest,
  type CatalogEntry,
  type TaskSpec,
} from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { ApiError } from '../errors.js';

/** Who submits, and the request's Idempotency-Key when known (the header, or the spec's). */
export interface Submitter {
  tenant: string;
  idempotencyKey?: string | undefined;
}

export async function checkCapacity(
  ctx: ApiContext,
  spec: TaskSpec,
  entry: CatalogEntry,
  queue: string,
  who: Submitter,
): Promise<void> {
  if (spec.waitForCapacity) return;
  const gpus = spec.gpus ?? entry.gpus;
  const need = {
    executer: spec.executer,
    gpus,
    request: resolveGpuRequest(spec, entry, gpus),
    envSetup: spec.envSetup !== undefined,
  };
  const keys = queueKeys(ctx.prefix, queue);
  const now = ctx.now();
  if (capacityShortfall(need, await liveTrackersFor(ctx.redis, keys, now), queue).length === 0) return;
  const issues = capacityShortfall(need, await liveTrackersFor(ctx.redis, keys, now, true), queue);
  if (issues.length === 0) return;
  const key = who.idempotencyKey ?? spec.idempotencyKey;
  if (
    key !== undefined &&
    (await ctx.redis.exists(keys.idempotency(who.tenant, idempotencyKeyHash(key)))) > 0
  )
    return;
  const why = issues.map((i) => `${i.field} ${i.reason}`).join('; ');
  throw new ApiError(
    'NO_CAPACITY',
    `no live tracker of queue "${queue}" can run this task: ${why}. ` +
      'Submit it with waitForCapacity (CLI: --wait-for-capacity) to queue it until one can.',
    { details: { issues } },
  );
}
