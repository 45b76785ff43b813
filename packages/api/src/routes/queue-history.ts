/**
 * GET /v1/queues/:queue/history: a queue's last hour, minute by minute (metrics/queue-history.ts),
 * for the dashboard's charts: tasks ended and started, how long those that started had waited, and
 * the GPUs its running tasks held beside those of its live trackers. Counts only, of every tenant
 * (as GET /v1/queues gives depths): no task ids, so any key may read it.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { checkName } from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { ApiError } from '../errors.js';
import { MinuteSchema } from '../metrics/queue-history.js';
import { errorResponses } from '../schemas/common.js';

const HistorySchema = Type.Object({
  queue: Type.String(),
  minutes: Type.Array(MinuteSchema, {
    description: 'the last 60 minutes, oldest first; the last is under way',
  }),
  gpusSampledSince: Type.Integer({
    description:
      'when this API process began sampling the GPUs in use (ms since the epoch): no GPU figures before it; the task counts go back an hour (as far as the events stream keeps it)',
  }),
});

export const queueHistoryRoutes: FastifyPluginAsyncTypebox<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.get(
    '/queues/:queue/history',
    {
      schema: {
        tags: ['fleet'],
        summary: 'A queue’s last hour, minute by minute: tasks ended and started, waits, GPUs busy',
        params: Type.Object({ queue: Type.String() }),
        response: { 200: HistorySchema, ...errorResponses },
      },
    },
    async (request) => {
      const { queue } = request.params;
      const issue = checkName(queue);
      if (issue) {
        throw new ApiError('VALIDATION_FAILED', `invalid request: params.queue: ${issue}`, {
          details: { issues: [{ field: 'params.queue', reason: issue }] },
        });
      }
      return { queue, minutes: ctx.history.view(queue), gpusSampledSince: ctx.history.gpusSampledSince };
    },
  );
};
