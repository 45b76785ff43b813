/**
 * What POST /v1/tasks and POST /v1/tasks/:id/resubmit share: the `Idempotency-Key` header, and the
 * answer (the task's id, queue and status and where it stands). `submitCounted` enqueues
 * (submit-task.ts) while it counts the waiting tasks ahead of it; `submissionAnswer` is the body:
 * the new task as enqueued (created), or the task an earlier request with the same
 * Idempotency-Key made (replayed), read as it is now.
 */
import { Type } from '@fastify/type-provider-typebox';
import { DEFAULT_QUEUE, queueKeys, type EnqueueResult, type TaskSpec, type TaskStatus } from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { Nullable, TaskStatusSchema } from '../schemas/common.js';
import { viewOf } from './load-task.js';
import { submitTask, type SubmitExtras } from './submit-task.js';

export const SubmissionSchema = Type.Object({
  id: Type.String(),
  queue: Type.String(),
  status: TaskStatusSchema,
  queuePosition: Nullable(Type.Integer({ description: 'waiting tasks ahead of this one (0 = next)' })),
  replayed: Type.Boolean({
    description: 'true when an earlier request with this Idempotency-Key made the task',
  }),
});

/** The optional `Idempotency-Key` header: the same key and body within 24 h give the same task. */
export const IdempotencyHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ minLength: 1, maxLength: 256, description: 'same key and body: the same task' }),
  ),
});

export interface CountedSubmission {
  result: EnqueueResult;
  /** Waiting tasks of its priority or above just before the enqueue; null when the count failed. */
  queuePosition: number | null;
}

/**
 * Submits `spec` as task `id` of `tenant`. The queue position is the count of waiting tasks of its
 * priority or above, sent just before the enqueue: it shares the enqueue's first round trip, and
 * cannot count the task itself.
 */
export async function submitCounted(
  ctx: ApiContext,
  spec: TaskSpec,
  tenant: string,
  id: string,
  extras: SubmitExtras = {},
): Promise<CountedSubmission> {
  const queue = spec.queue ?? DEFAULT_QUEUE;
  const waiting = ctx.positions.countWaiting(
    queueKeys(ctx.prefix, queue),
    spec.priority ?? ctx.defaultPriority(queue),
  );
  const counted = waiting.count.catch(() => null);
  if (!waiting.issued) await counted;
  const [result, queuePosition] = await Promise.all([submitTask(ctx, spec, tenant, id, extras), counted]);
  return { result, queuePosition };
}

export interface SubmissionAnswer {
  id: string;
  queue: string;
  status: TaskStatus;
  queuePosition: number | null;
  replayed: boolean;
}

/** The answer's body: the created task, or the replayed one as it is now. */
export async function submissionAnswer(
  ctx: ApiContext,
  { result, queuePosition }: CountedSubmission,
  tenant: string,
): Promise<SubmissionAnswer> {
  if (result.created) {
    return { id: result.id, queue: result.queue, status: 'queued', queuePosition, replayed: false };
  }
  const found = await ctx.finder.find(result.id, tenant);
  const view = found ? await viewOf(ctx, found) : null;
  return {
    id: result.id,
    queue: result.queue,
    status: view?.status ?? 'queued',
    queuePosition: view?.queuePosition ?? null,
    replayed: true,
  };
}
