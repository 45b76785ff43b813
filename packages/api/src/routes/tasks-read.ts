/**
 * GET /v1/tasks (the tenant's tasks, newest first, filtered by status, executer, queue, name and
 * tags, cursor-paged; with an admin key another tenant's, or with `tenant=*` every tenant's; with
 * `archived=true`, those of a time range that left Redis for the archive, archive-listing.ts) and
 * GET /v1/tasks/:id (from Redis or the archive, load-task.ts).
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
import type { Principal } from '../auth/api-keys.js';
import { principalOf } from '../auth/auth-hook.js';
import { ApiError } from '../errors.js';
import { errorResponses, Nullable, TaskIdParams } from '../schemas/common.js';
import {
  listArchivedTasks,
  MAX_ARCHIVE_RANGE_DAYS,
  parseArchiveRange,
  parseCreatedRange,
} from '../tasks/archive-listing.js';
import { fromArchive, loadTask, viewOf } from '../tasks/load-task.js';
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
    archived: Type.Optional(
      Type.Boolean({
        description:
          'list archived tasks (ended long enough ago to leave Redis) that ended from `from` to `to`, ' +
          'newest day first, instead of the tasks in Redis',
      }),
    ),
    from: Type.Optional(
      Type.String({
        maxLength: 40,
        description: `created at or after (tasks in Redis), or with archived=true ended at or after (required there, at most ${MAX_ARCHIVE_RANGE_DAYS} days before \`to\`): ms since the epoch or an ISO date or time`,
        examples: ['2024-05-01'],
      }),
    ),
    to: Type.Optional(
      Type.String({
        maxLength: 40,
        description:
          'created at or before (tasks in Redis), or with archived=true ended at or before (default now); a date alone means the end of that UTC day',
      }),
    ),
    tenant: Type.Optional(
      Type.String({
        maxLength: 64,
        description:
          'whose tasks: default your own; another tenant’s, or `*` for every tenant’s (not with archived=true), needs an admin key',
        examples: ['alice', '*'],
      }),
    ),
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

/** `tenant=*`: every tenant's tasks (admin keys, tasks in Redis). */
const ALL_TENANTS = '*';

function forbiddenTenant(reason: string): ApiError {
  return new ApiError('FORBIDDEN', `query.tenant: ${reason}`, {
    details: { issues: [{ field: 'query.tenant', reason }] },
  });
}

/**
 * Whose tasks a listing reads: the caller's own tenant by default; with an admin key the tenant it
 * names, or null for every tenant (`*`, tasks in Redis only: the archive is kept per tenant).
 */
function listTenant(principal: Principal, tenant: string | undefined, archived: boolean): string | null {
  if (tenant === undefined || tenant === principal.tenant) return principal.tenant;
  if (tenant === ALL_TENANTS) {
    if (principal.role !== 'admin') throw forbiddenTenant('listing every tenant’s tasks needs an admin key');
    if (archived) {
      throw new ApiError('VALIDATION_FAILED', 'invalid request: query.tenant: * only without archived=true', {
        details: {
          issues: [{ field: 'query.tenant', reason: '* only without archived=true: name a tenant' }],
        },
      });
    }
    return null;
  }
  const problem = checkName(tenant);
  if (problem !== null) {
    throw new ApiError('VALIDATION_FAILED', 'invalid request: query.tenant: not a tenant name', {
      details: { issues: [{ field: 'query.tenant', reason: problem }] },
    });
  }
  if (principal.role !== 'admin') throw forbiddenTenant('listing another tenant’s tasks needs an admin key');
  return tenant;
}

export const taskReadRoutes: FastifyPluginAsyncTypebox<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.get(
    '/tasks',
    {
      schema: {
        tags: ['tasks'],
        summary:
          'List your tasks (admin: any tenant’s, or every tenant’s), newest first; with archived=true, archived tasks of a time range',
        description:
          'A page may hold fewer than `limit` tasks while `nextCursor` is set: each page looks at a ' +
          'bounded number of tasks, so follow `nextCursor` until it is null. With `archived=true` it ' +
          'lists tasks that left Redis for the archive and ended from `from` to `to` (at most ' +
          `${MAX_ARCHIVE_RANGE_DAYS} days), by the UTC day they ended, newest first; the other filters apply. ` +
          'Without it, `from` and `to` bound when the tasks were created. ' +
          '`tenant` names whose tasks (an admin key; a user key may name only its own tenant), `*` every tenant’s.',
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
      const tenant = listTenant(principalOf(request), q.tenant, q.archived === true);
      if (q.archived && tenant !== null) {
        const archived = await listArchivedTasks(ctx.store, {
          tenant,
          range: parseArchiveRange(q.from, q.to, ctx.now()),
          statuses: parseStatuses(q.status),
          executer: q.executer ?? null,
          queue: q.queue ?? null,
          labels: parseLabelFilter(q.name, q.tag),
          limit: q.limit ?? 50,
          cursor: q.cursor ?? null,
        });
        const items = archived.items.map((task) => toTaskSummary(fromArchive(ctx.prefix, task)));
        return { items, nextCursor: archived.nextCursor };
      }
      const created = parseCreatedRange(q.from, q.to);
      const { items, nextCursor } = await listTasks(ctx.redis, ctx.prefix, {
        tenant,
        queues: q.queue !== undefined ? [q.queue] : await ctx.queues.registered(),
        statuses: parseStatuses(q.status),
        executer: q.executer ?? null,
        labels: parseLabelFilter(q.name, q.tag),
        createdFrom: created.from,
        createdTo: created.to,
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
