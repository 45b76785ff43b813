/**
 * A task's outputs: GET /v1/tasks/:id/outputs (the manifest), GET /v1/tasks/:id/outputs/<path>
 * (one file, with Range), GET /v1/tasks/:id/outputs.zip (all, or `?files=` repeated, as a zip
 * streamed while it is built). Only paths listed in the manifest are served, after the path was
 * checked not to escape (`..`, `.`, absolute, backslash, empty segments; percent-encoded forms
 * are decoded before the check). Files are sent as attachments with `nosniff`, so an output is
 * never rendered as a page of the API's origin (outputs/output-answers.ts builds the answers). An
 * archived task's outputs are served the same way: archiving moves the record, never the files,
 * and its manifest comes with the record.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { checkArtifactKey } from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { manifestOf, outputFile, sendFile, sendZip } from '../outputs/output-answers.js';
import { errorResponses, StreamBody, TaskIdParams } from '../schemas/common.js';
import { loadTask } from '../tasks/load-task.js';

const ManifestSchema = Type.Object({
  attempt: Type.Integer({ description: 'the attempt that wrote these outputs' }),
  bytes: Type.Integer(),
  files: Type.Array(Type.Object({ path: Type.String(), size: Type.Integer(), sha256: Type.String() })),
});

const FileParams = Type.Object({
  ...TaskIdParams.properties,
  '*': Type.String({ description: 'the output’s path, as in the manifest' }),
});

const ZipQuery = Type.Object(
  {
    files: Type.Optional(
      Type.Array(Type.String(), { description: 'only these paths (repeat the parameter)' }),
    ),
    compress: Type.Optional(
      Type.Boolean({ description: 'deflate the files (default: stored, with a Content-Length)' }),
    ),
  },
  { additionalProperties: false },
);

export const taskOutputRoutes: FastifyPluginAsyncTypebox<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.get(
    '/tasks/:id/outputs',
    {
      schema: {
        tags: ['outputs'],
        summary: 'The task’s output manifest: each file’s path, size and sha256',
        params: TaskIdParams,
        response: { 200: ManifestSchema, ...errorResponses },
      },
    },
    async (request) => {
      const manifest = manifestOf(await loadTask(ctx, request, request.params.id));
      const bytes = manifest.files.reduce((sum, f) => sum + f.size, 0);
      return { attempt: manifest.attempt, bytes, files: manifest.files };
    },
  );

  app.get(
    '/tasks/:id/outputs.zip',
    {
      schema: {
        tags: ['outputs'],
        summary: 'All outputs (or `?files=`) as a zip, streamed while it is built',
        params: TaskIdParams,
        querystring: ZipQuery,
        response: {
          200: { content: { 'application/zip': { schema: StreamBody({ format: 'binary' }) } } },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const found = await loadTask(ctx, request, request.params.id);
      const manifest = manifestOf(found);
      const wanted = request.query.files;
      const files =
        wanted === undefined ? undefined : [...new Set(wanted)].map((path) => outputFile(manifest, path));
      return sendZip(ctx, reply, found, manifest, { files, compress: request.query.compress });
    },
  );

  app.get(
    '/tasks/:id/outputs/*',
    {
      schema: {
        tags: ['outputs'],
        summary: 'One output file; supports Range and If-None-Match (the ETag is its sha256)',
        params: FileParams,
        response: {
          200: { content: { 'application/octet-stream': { schema: StreamBody({ format: 'binary' }) } } },
          206: { content: { 'application/octet-stream': { schema: StreamBody({ format: 'binary' }) } } },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const path = request.params['*'];
      checkArtifactKey(path); // before the lookup: a traversal attempt is a 400 whatever the id
      const manifest = manifestOf(await loadTask(ctx, request, request.params.id));
      return sendFile(ctx, reply, manifest, outputFile(manifest, path));
    },
  );
};
