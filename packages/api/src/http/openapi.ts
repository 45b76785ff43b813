/**
 * The OpenAPI document (built from the route schemas) at GET /openapi.json and a browsable page
 * at /docs. Both are public: they describe the API and hold no task or tenant data, and a browser
 * opening /docs cannot send a bearer key (the page asks for one for "Try it out").
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { registerDocsPage } from './docs-page.js';

export const API_VERSION = '1.0.0';

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'gpufleet API',
        version: API_VERSION,
        description:
          'Submit GPU tasks, follow them, download their outputs. Every /v1 route needs ' +
          '`Authorization: Bearer <key>`; errors are `{error: {code, message, details}}` (codes in docs/api.md).',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API key' } },
      },
      security: [{ bearer: [] }],
      tags: [
        { name: 'tasks', description: 'submit, read, follow and cancel tasks' },
        { name: 'outputs', description: 'what tasks wrote' },
        { name: 'fleet', description: 'queues, executers and trackers' },
        { name: 'account', description: 'who the key is' },
        { name: 'admin', description: 'maintenance by hand (admin keys only)' },
        { name: 'health', description: 'liveness, readiness and metrics (no key needed)' },
      ],
    },
  });
  registerDocsPage(app);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
