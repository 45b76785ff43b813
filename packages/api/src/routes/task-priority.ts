/**
 * PUT /v1/tasks/:id/priority: changes the priority of a task that waits (status `queued`); it moves
 * to its new place in line at once (core's setTaskPriority, one Lua step). A task that runs or ended
 * keeps its priority: 409 TASK_NOT_WAITING naming its status, an archived one (it ended and left
 * Redis) too. Another tenant's task is a 404.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { setTaskPriority, TaskPrioritySchema } from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { ApiError, taskNotFound } from '../errors.js';
import { errorResponses, TaskIdParams } from '../schemas/common.js';
import { loadTask } from '../tasks/load-task.js';

const PriorityBodySchema = Type.Object({ priority: TaskPrioritySchema }, { additionalProperties: false });

const PriorityChangeSchema = Type.Object({
  id: Type.String(),
  priority: Type.Integer({ description: 'the priority it has now' }),
  previous: Type.Integer({ description: 'the priority it had before' }),
});

export const taskPriorityRoutes: FastifyPluginAsyncTypebox<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.put(
    '/tasks/:id/priority',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Change the priority of a waiting task',
        description:
          'Only a queued task can change; it moves to its new place among the waiting tasks at once.',
        params: TaskIdParams,
        body: PriorityBodySchema,
        response: { 200: PriorityChangeSchema, ...errorResponses },
      },
    },
    async (request) => {
      const found = await loadTask(ctx, request, request.params.id);
      const id = found.record.id;
      const { priority } = request.body;
      // An archived task's keys are gone: setTaskPriority would answer a 404 for a task GET shows.
      const change =
        found.archivedAt !== null
          ? ({ kind: 'not-waiting', status: found.record.status } as const)
          : await setTaskPriority(ctx.redis, found.keys, id, priority, ctx.now());
      request.log.info({ taskId: id, result: change.kind, priority }, 'priority change requested');
      switch (change.kind) {
        case 'changed':
          return { id, priority: change.to, previous: change.from };
        case 'not-waiting':
          throw new ApiError(
            'TASK_NOT_WAITING',
            `the task is ${change.status}: only a queued task can change its priority`,
            { details: { status: change.status } },
          );
        default:
          throw taskNotFound();
      }
    },
  );
};
