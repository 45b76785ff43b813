/**
 * POST /v1/admin/gc (admin keys only): the retention sweep run by hand. For each queue (or the one
 * `?queue=` names) it archives and removes the finished tasks whose retention (the API's
 * GPUFLEET_RETENTION and GPUFLEET_TENANT_RETENTION) has passed, exactly as a tracker's periodic
 * sweep does (core's sweepFinished); `?dryRun=true` only says which tasks those are. Running it
 * beside a tracker's sweep is harmless: the archive write is idempotent and forget.lua checks each
 * task again in the step that removes it.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { queueKeys, sweepFinished } from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { errorResponses } from '../schemas/common.js';
import { queuesOf } from './fleet.js';

/** Tasks found due per queue by default: one request's share, bounded so it answers in seconds. */
export const GC_DEFAULT_LIMIT = 10_000;
export const GC_MAX_LIMIT = 100_000;

const GcQuery = Type.Object(
  {
    dryRun: Type.Optional(
      Type.Boolean({ default: false, description: 'say which tasks would go; archive and remove nothing' }),
    ),
    queue: Type.Optional(Type.String({ description: 'only this queue' })),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: GC_MAX_LIMIT,
        default: GC_DEFAULT_LIMIT,
        description: 'per queue, archive and remove at most this many tasks (run again for the rest)',
      }),
    ),
  },
  { additionalProperties: false },
);

const GcSchema = Type.Object({
  dryRun: Type.Boolean(),
  queues: Type.Array(
    Type.Object({
      queue: Type.String(),
      scanned: Type.Integer({ description: 'task ids of the queue index read' }),
      due: Type.Integer({ description: 'finished tasks past their retention (in a dry run: would go)' }),
      removed: Type.Integer({ description: 'of those, archived and removed from Redis (0 in a dry run)' }),
      ids: Type.Array(Type.String(), { description: 'the ids of the tasks due, the first 1,000' }),
    }),
  ),
});

export const adminGcRoutes: FastifyPluginAsyncTypebox<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.post(
    '/admin/gc',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Admin: archive and remove finished tasks past their retention (or, dry run, list them)',
        querystring: GcQuery,
        response: { 200: GcSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { dryRun = false, limit = GC_DEFAULT_LIMIT } = request.query;
      const queues = await queuesOf(ctx, request.query.queue);
      const now = ctx.now();
      const results = [];
      // One queue after another: a by-hand run adds one sweep's load to Redis and the store, not N.
      for (const queue of queues) {
        const swept = await sweepFinished({
          redis: ctx.redis,
          keys: queueKeys(ctx.prefix, queue),
          store: ctx.store,
          policy: ctx.retention,
          now,
          dryRun,
          limit,
        });
        results.push({ queue, ...swept });
      }
      return { dryRun, queues: results };
    },
  );
};
