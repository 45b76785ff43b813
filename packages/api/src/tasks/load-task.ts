/**
 * The first step of every task route: the task of this id and this tenant, or a 404 that looks
 * the same whether the task is missing or another tenant's. A task is read from Redis, or, once
 * the retention sweep removed it there, from the archive (core's task-archive.ts): the sweep
 * writes the archive before it deletes the keys, so a task is always in one of the two, and it is
 * looked for in Redis first. And the task's view, which for a queued task reads where it stands,
 * why it waits (wait-reason.ts) and, when a tracker's GPUs are reserved for it, by when it is
 * expected to start.
 */
import type { FastifyRequest } from 'fastify';
import {
  gpuRequestSuffix,
  queueKeys,
  readArchivedTask,
  readFairShare,
  shareOf,
  type ArchivedTask,
} from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { principalOf } from '../auth/auth-hook.js';
import { taskNotFound } from '../errors.js';
import { TASK_ID } from '../schemas/common.js';
import type { FoundTask } from './task-finder.js';
import { toTaskView, waitPlace, type TaskView, type WaitView } from './task-view.js';
import { preemptionLive, reservationOf, waitReason } from './wait-reason.js';

/**
 * The task of this id for the caller: its own tenant's; any tenant's for an admin key (an
 * operator looks into, cancels or reprioritises anyone's task by id; lists stay per tenant).
 */
export async function loadTask(ctx: ApiContext, request: FastifyRequest, id: string): Promise<FoundTask> {
  const principal = principalOf(request);
  const found = await findTask(ctx, id, principal.role === 'admin' ? null : principal.tenant);
  if (!found) throw taskNotFound();
  request.taskId = found.record.id;
  return found;
}

/** The task of this id and tenant (null: any), in Redis or the archive; null when there is none. */
export async function findTask(
  ctx: ApiContext,
  id: string,
  tenant: string | null,
): Promise<FoundTask | null> {
  return (await ctx.finder.find(id, tenant)) ?? (await findArchived(ctx, id, tenant));
}

/**
 * The archived task of this id and tenant (null: any tenant), or null (another tenant's is null
 * too, as in Redis).
 * It has no Redis keys left; `keys` are its queue's, so a route that looks there finds nothing
 * rather than another task. Of the raw hash's extra fields, the archive keeps executerVersion.
 */
export async function findArchived(
  ctx: ApiContext,
  id: string,
  tenant: string | null,
): Promise<FoundTask | null> {
  // A string no task id can be never reaches the store (one HEAD per 404 is the cost otherwise).
  if (!TASK_ID.test(id)) return null;
  const archived = await readArchivedTask(ctx.store, id);
  return archived && (tenant === null || archived.tenant === tenant)
    ? fromArchive(ctx.prefix, archived)
    : null;
}

/** An archived record as the routes take a task. */
export function fromArchive(prefix: string, archived: ArchivedTask): FoundTask {
  const { archivedAt, executerVersion, outputsDeletedAt, ...record } = archived;
  const raw: Record<string, string> = executerVersion ? { executerVersion } : {};
  return {
    record,
    raw,
    keys: queueKeys(prefix, record.queue),
    archivedAt,
    outputsDeletedAt: outputsDeletedAt ?? null,
  };
}

/**
 * Where a queued task stands and why it waits: its place among the waiting tasks (exact as of the
 * read), its tenant's running GPUs and quota in the queue as the trackers enforce them (from the
 * one fair-share read the place needs too), whether its size is marked unschedulable, and the
 * queue's backfill reservation and preemption of it. The last two go with the first reads (the
 * connection auto-pipelines), so they add no round trip to a view.
 */
async function waitOf(ctx: ApiContext, found: FoundTask): Promise<WaitView> {
  const { keys, record } = found;
  const now = ctx.now();
  const place = waitPlace(found, now);
  const sharesRead = readFairShare(ctx.redis, keys, now);
  const [standing, shares, unschedulable, reservationHash, preemption] = await Promise.all([
    place ? ctx.positions.standingOf(keys, place, sharesRead) : null,
    sharesRead,
    ctx.redis.exists(
      keys.unschedulableSince(record.gpus),
      keys.unschedulableSince(`${record.gpus}${gpuRequestSuffix(record.gpuRequest)}`),
    ),
    ctx.redis.hgetall(keys.reservation),
    ctx.redis.hget(keys.preemptions, record.id),
  ]);
  const reservation = reservationOf(reservationHash, record.id);
  const share = shareOf(shares, record.tenant);
  const reason = waitReason({
    now,
    after: record.after,
    notBefore: record.notBefore,
    gpus: record.gpus,
    runningGpus: share.runningGpus,
    maxRunningGpus: share.maxRunningGpus,
    unschedulable: unschedulable > 0,
    standing,
    preempting: preemptionLive(preemption, now),
    reserved: reservation.reserved,
  });
  // Only beside the reason it stands for: a task that lost first place keeps the lapsing reservation a moment.
  const expectedStartAt = reason === 'Reservation' || reason === 'Preemption' ? reservation.at : null;
  return { position: standing?.position ?? null, reason, expectedStartAt };
}

/** The task's view, with where it stands and why it waits while it is queued. */
export async function viewOf(ctx: ApiContext, found: FoundTask): Promise<TaskView> {
  return toTaskView(found, found.record.status === 'queued' ? await waitOf(ctx, found) : null);
}
