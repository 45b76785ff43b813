/**
 * GET /healthz (the process answers) and GET /readyz (Redis answers a PING within a second).
 * Neither needs a key.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiContext } from '../app-context.js';
import { redisUnavailable } from '../errors.js';
import { errorResponses } from '../schemas/common.js';

const StatusSchema = Type.Object({ status: Type.Literal('ok') });
const PING_TIMEOUT_MS = 1000;

export const healthRoutes: FastifyPluginAsyncTypebox<{ ctx: ApiContext }> = async (app, { ctx }) => {
  const schema = { tags: ['health'], security: [], response: { 200: StatusSchema, ...errorResponses } };
  app.get('/healthz', { schema: { ...schema, summary: 'The API process is up' } }, async () => ({
    status: 'ok' as const,
  }));
  app.get('/readyz', { schema: { ...schema, summary: 'Redis is reachable' } }, async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(redisUnavailable(new Error('PING timed out'))), PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([ctx.redis.ping(), timeout]);
    } catch (error) {
      throw redisUnavailable(error);
    } finally {
      clearTimeout(timer);
    }
    return { status: 'ok' as const };
  });
};
