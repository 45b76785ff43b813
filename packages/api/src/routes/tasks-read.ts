/**
 * GET /v1/tasks (the tenant's tasks, newest first, filtered by status, executer, queue, name and
 * tags, cursor-paged) and GET /v1/tasks/:id.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  checkName,
  isTaskStatus,
  TASK_NAME_MAX_LENGTH,
  TASK_TAGS_MAX,
  type TaskStatus,
} from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { principalOf } from '../auth/auth-hook.js';
import { ApiError } from '../errors.js';
import { errorResponses, Nullable, TaskIdParams } from '../schemas/common.js';
import { loadTask, viewOf } from '../tasks/load-task.js';
import { parseLabelFilter } from '../tasks/label-filter.js';
import { listTasks } from '../tasks/task-listing.js';
import { TaskSummarySchema, TaskViewSchema, toTaskSummary } from '../tasks/task-view.js';

const ListQuerySchema = Type.Object(
  {
    status: Type.Optional(
      Type.String({
        description: 'one status or several, comma-separated: queued,running',
        examples: ['running'],
      }),
    ),
    executer: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' })),
    queue: Type.Optional(Type.String({ description: 'only this queue' })),
    name: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: TASK_NAME_MAX_LENGTH + 1,
        description: 'only tasks of this name; a trailing `*` matches names starting with the rest: sweep-*',
      }),
    ),
    tag: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 400 }), {
        maxItems: TASK_TAGS_MAX,
        description:
          'only tasks with this tag: `key=value`, or `key` for any value; repeatable, all must match',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200, description: '`nextCursor` of the previous page' })),
  },
  { additionalProperties: false },
);

const TaskListSchema = Type.Object({
  items: Type.Array(TaskSummarySchema),
  nextCursor: Nullable(Type.String({ description: 'pass as `cursor` for the next page; null at the end' })),
});

function parseStatuses(text: string | undefined): Set<TaskStatus> | null {
  if (text === undefined) return null;
  const statuses = new Set<TaskStatus>();
  for (const part of text.split(',').map((s) => s.trim())) {
    if (!isTaskStatus(part)) {
      throw new ApiError('VALIDATION_FAILED', `invalid request: query.status: unknown status "${part}"`, {
        details: { issues: [{ field: 'query.status', reason: `unknown status "${part}"` }] },
      });
    }
    statuses.add(part);
  }
  return statuses;
}

export const taskReadRoutes: FastifyPluginAsyncTypebox<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.get(
    '/tasks',
    {
      schema: {
        tags: ['tasks'],
        summary: 'List your tasks, newest first',
        description:
          'A page may hold fewer than `limit` tasks while `nextCursor` is set: each page looks at a ' +
          'bounded number of tasks, so follow `nextCursor` until it is null.',
        querystring: ListQuerySchema,
        response: { 200: TaskListSchema, ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      if (q.queue !== undefined && checkName(q.queue) !== null) {
        throw new ApiError('VALIDATION_FAILED', 'invalid request: query.queue: not a queue name', {
          details: { issues: [{ field: 'query.queue', reason: checkName(q.queue) }] },
        });
      }
      const { items, nextCursor } = await listTasks(ctx.redis, ctx.prefix, {
        tenant: principalOf(request).tenant,
        queues: q.queue !== undefined ? [q.queue] : await ctx.queues.registered(),
        statuses: parseStatuses(q.status),
        executer: q.executer ?? null,
        labels: parseLabelFilter(q.name, q.tag),
        limit: q.limit ?? 50,
        cursor: q.cursor ?? null,
      });
      return { items: items.map(toTaskSummary), nextCursor };
    },
  );

  app.get(
    '/tasks/:id',
    {
      schema: {
        tags: ['tasks'],
        summary: 'A task: status, attempts, tracker, timestamps, exit code, error, queue position, outputs',
        params: TaskIdParams,
        response: { 200: TaskViewSchema, ...errorResponses },
      },
    },
    async (request) => viewOf(ctx, await loadTask(ctx, request, request.params.id)),
  );
};
