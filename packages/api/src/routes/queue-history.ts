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
import { errorResponses, Nullable } from '../schemas/common.js';

const Count = (description: string) => Type.Integer({ minimum: 0, description });

const MinuteSchema = Type.Object({
  at: Type.Integer({ description: 'the minute’s start, ms since the epoch' }),
  succeeded: Count('tasks that succeeded in the minute'),
  failed: Count('tasks that ended otherwise: failed, timed out, cancelled, dead'),
  started: Count('tasks that started their first attempt'),
  waitMeanMs: Nullable(
    Type.Integer({ description: 'how long those had waited, on average; null: none started' }),
  ),
  waitP90Ms: Nullable(Type.Integer({ description: '90th percentile of those waits' })),
  gpusBusyMean: Nullable(
    Type.Number({
      description: 'GPUs its running tasks held, mean of the minute’s samples; null: not sampled',
    }),
  ),
  gpusBusyMax: Nullable(Type.Integer({ description: 'the most GPUs they held at a sample' })),
  gpusTotal: Nullable(Type.Integer({ description: 'the GPUs of its live trackers at the last sample' })),
});

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
