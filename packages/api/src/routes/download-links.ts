/**
 * POST /v1/tasks/:id/download-links: a link a browser can follow without the API key, for one
 * output file (`{path}`) or the outputs zip (`{zip: true}`), valid DOWNLOAD_LINK_TTL_MS
 * (outputs/download-links.ts). The task is looked up as every task route does (the key's own
 * tenant's; an admin key any tenant's), and the file must be in its manifest, so a link is only
 * ever made for something the key could download itself. GET /v1/downloads/:token serves it
 * (downloads.ts).
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { checkArtifactKey, ISSUE_REASONS } from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { createDownloadLink, DOWNLOAD_LINK_TTL_MS } from '../outputs/download-links.js';
import { manifestOf, outputFile } from '../outputs/output-answers.js';
import { errorResponses, TaskIdParams, Timestamp } from '../schemas/common.js';
import { loadTask } from '../tasks/load-task.js';

const DownloadLinkRequestSchema = Type.Union(
  [
    Type.Object(
      {
        path: Type.String({
          minLength: 1,
          maxLength: 1024,
          description: 'an output’s path, as in the manifest',
        }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      { zip: Type.Literal(true, { description: 'the zip of all the task’s outputs' }) },
      { additionalProperties: false },
    ),
  ],
  {
    description: 'one output file (`path`), or all outputs as a zip (`zip: true`)',
    [ISSUE_REASONS]: { Union: 'must be {"path": "<an output’s path>"} or {"zip": true}, nothing else' },
  },
);

const DownloadLinkSchema = Type.Object({
  url: Type.String({
    description:
      '/v1/downloads/<token>, relative to the API: GET it with no key (a browser follows it as a plain link)',
  }),
  expiresAt: Timestamp,
});

export const downloadLinkRoutes: FastifyPluginAsyncTypebox<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.post(
    '/tasks/:id/download-links',
    {
      schema: {
        tags: ['outputs'],
        summary: `A link that downloads an output file or the outputs zip without a key, for ${DOWNLOAD_LINK_TTL_MS / 1000} s`,
        params: TaskIdParams,
        body: DownloadLinkRequestSchema,
        response: { 201: DownloadLinkSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if ('path' in body) checkArtifactKey(body.path); // before the lookup, as the file route does
      const found = await loadTask(ctx, request, request.params.id);
      const manifest = manifestOf(found);
      if ('path' in body) outputFile(manifest, body.path);
      const target = 'path' in body ? { path: body.path } : { zip: true as const };
      const { token, expiresAt } = await createDownloadLink(
        ctx.redis,
        ctx.prefix,
        { tenant: found.record.tenant, taskId: found.record.id, ...target },
        ctx.now(),
      );
      return reply
        .code(201)
        .send({ url: `/v1/downloads/${token}`, expiresAt: new Date(expiresAt).toISOString() });
    },
  );
};
