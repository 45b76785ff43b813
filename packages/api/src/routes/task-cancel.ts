/**
 * POST /v1/tasks/:id/cancel. A queued task ends `cancelled` at once (200); a running one's tracker
 * is told to stop it (202, `cancelRequested`; follow /events for the end). Cancelling a cancelled
 * task again is a 200; a task that ended otherwise is a 409. An archived task (it left Redis; its
 * record is final) is answered the same way from its record, with nothing sent to Redis. A queued
 * task that ran before (waiting for a retry, or requeued after its tracker died) has a live log
 * stream from then: once it is cancelled, the stream gets its grace to live (core task-log-expiry.ts).
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { cancelTask, expireTaskLog } from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { ApiError, taskNotFound } from '../errors.js';
import { errorResponses, TaskIdParams, TaskStatusSchema } from '../schemas/common.js';
import { loadTask } from '../tasks/load-task.js';

const CancelSchema = Type.Object({
  id: Type.String(),
  status: TaskStatusSchema,
  cancelRequested: Type.Boolean({ description: 'true while the tracker stops a running task' }),
});

export const taskCancelRoutes: FastifyPluginAsyncTypebox<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.post(
    '/tasks/:id/cancel',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Cancel a task',
        params: TaskIdParams,
        response: { 200: CancelSchema, 202: CancelSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const found = await loadTask(ctx, request, request.params.id);
      const id = found.record.id;
      // Its keys are gone: cancelTask would find no task and answer a 404 for a task GET shows.
      const result =
        found.archivedAt !== null
          ? ({ kind: 'final', status: found.record.status } as const)
          : await cancelTask(ctx.redis, found.keys, id, ctx.now(), 'cancelled through the API');
      request.log.info({ taskId: id, result: result.kind }, 'cancel requested');
      switch (result.kind) {
        case 'cancelled':
          // The cancel stands either way; the retention sweep removes a stream left without a TTL.
          await expireTaskLog(ctx.redis, found.keys, id, ctx.logGraceMs).catch((error: unknown) =>
            request.log.warn({ err: error, taskId: id }, 'could not set the live log’s expiry'),
          );
          return reply.code(200).send({ id, status: 'cancelled', cancelRequested: false });
        case 'signalled':
          return reply.code(202).send({ id, status: found.record.status, cancelRequested: true });
        case 'final':
          if (result.status === 'cancelled')
            return reply.code(200).send({ id, status: 'cancelled', cancelRequested: false });
          throw new ApiError('TASK_FINISHED', `the task already ended ${result.status}`, {
            details: { status: result.status },
          });
        default:
          throw taskNotFound();
      }
    },
  );
};
