/**
 * GET /v1/me: who the request's key is (its tenant, role and name), for a client that shows it
 * (the dashboard's header) or decides what to offer (admin pages) without trying admin routes.
 * Any key may ask; it answers only what the key itself carries.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiContext } from '../app-context.js';
import { principalOf } from '../auth/auth-hook.js';
import { errorResponses } from '../schemas/common.js';

const MeSchema = Type.Object({
  tenant: Type.String({ description: 'the tenant the key belongs to: whose tasks it submits and lists' }),
  role: Type.Union([Type.Literal('user'), Type.Literal('admin')], {
    description: 'user: its tenant’s tasks; admin: also every tenant’s tasks, drains and gc',
  }),
  keyName: Type.String({ description: 'the key’s name in the keys file (GPUFLEET_API_TOKEN for the token)' }),
});

export const meRoutes: FastifyPluginAsyncTypebox<{ ctx: ApiContext }> = async (app) => {
  app.get(
    '/me',
    {
      schema: {
        tags: ['account'],
        summary: 'The key’s tenant, role and name',
        response: { 200: MeSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { tenant, role, keyName } = principalOf(request);
      return { tenant, role, keyName };
    },
  );
};
