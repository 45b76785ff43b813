/**
 * GET /metrics: Prometheus text (see metrics/api-metrics.ts and gpu-metrics.ts for what is there).
 * No key needed; it carries counts, timings and GPU figures, never task data.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiContext } from '../app-context.js';
import { errorResponses, StreamBody } from '../schemas/common.js';

export const metricsRoutes: FastifyPluginAsyncTypebox<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['health'],
        summary:
          'Prometheus metrics: tasks by status, queue depth, wait and run times, GPU usage, API latency',
        security: [],
        response: { 200: { content: { 'text/plain': { schema: StreamBody() } } }, ...errorResponses },
      },
    },
    async (_request, reply) => {
      const text = await ctx.metrics.registry.metrics();
      return reply.type(ctx.metrics.registry.contentType).send(text);
    },
  );
};
