/**
 * GET /v1/downloads/:token: what a download link stands for (routes/download-links.ts), with no
 * API key: the token is the credential, random and short-lived. It is registered beside the /v1
 * plugin that authenticates, not in it. It answers exactly what GET /v1/tasks/:id/outputs/<path>
 * or GET /v1/tasks/:id/outputs.zip answers (the same code: outputs/output-answers.ts), Range and
 * ETag included, as often as asked until the link expires; an unknown, malformed or expired token
 * is 404 NOT_FOUND. The request log names the route, not the path, so the token stays out of logs.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiContext } from '../app-context.js';
import { ApiError } from '../errors.js';
import { readDownloadLink } from '../outputs/download-links.js';
import { manifestOf, outputFile, sendFile, sendZip } from '../outputs/output-answers.js';
import { errorResponses, StreamBody } from '../schemas/common.js';
import { findTask } from '../tasks/load-task.js';

const TokenParams = Type.Object({
  token: Type.String({ description: 'the token of a link from POST /v1/tasks/:id/download-links' }),
});

const linkNotFound = (): ApiError =>
  new ApiError('NOT_FOUND', 'no such download link: it expired, or it never existed');

export const downloadRoutes: FastifyPluginAsyncTypebox<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.get(
    '/downloads/:token',
    {
      config: { secretPath: true },
      schema: {
        tags: ['outputs'],
        summary: 'What a download link stands for: an output file (Range, ETag) or the outputs zip; no key',
        security: [],
        params: TokenParams,
        response: {
          200: { content: { 'application/octet-stream': { schema: StreamBody({ format: 'binary' }) } } },
          206: { content: { 'application/octet-stream': { schema: StreamBody({ format: 'binary' }) } } },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const link = await readDownloadLink(ctx.redis, ctx.prefix, request.params.token);
      if (!link) throw linkNotFound();
      const found = await findTask(ctx, link.taskId, link.tenant);
      if (!found) throw linkNotFound();
      request.taskId = found.record.id;
      const manifest = manifestOf(found);
      if ('zip' in link) return sendZip(ctx, reply, found, manifest);
      return sendFile(ctx, reply, manifest, outputFile(manifest, link.path));
    },
  );
};
