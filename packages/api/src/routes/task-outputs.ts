/**
 * A task's outputs: GET /v1/tasks/:id/outputs (the manifest), GET /v1/tasks/:id/outputs/<path>
 * (one file, with Range), GET /v1/tasks/:id/outputs.zip (all, or `?files=` repeated, as a zip
 * streamed while it is built). Only paths listed in the manifest are served, after the path was
 * checked not to escape (`..`, `.`, absolute, backslash, empty segments; percent-encoded forms
 * are decoded before the check). Files are sent as attachments with `nosniff`, so an output is
 * never rendered as a page of the API's origin. An archived task's outputs are served the same
 * way: archiving moves the record, never the files, and its manifest comes with the record.
 */
import { posix } from 'node:path';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import {
  checkArtifactKey,
  fileSourceOf,
  isFinal,
  type OutputFile,
  type OutputManifest,
} from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { ApiError } from '../errors.js';
import { parseRange } from '../outputs/byte-range.js';
import { zipOutputs } from '../outputs/outputs-zip.js';
import { sendFileSource } from '../outputs/send-file-source.js';
import { errorResponses, StreamBody, TaskIdParams } from '../schemas/common.js';
import type { FoundTask } from '../tasks/task-finder.js';
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

const TYPES: Record<string, string> = {
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.json': 'application/json',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.tar': 'application/x-tar',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
};

/** Headers of a file answer that an error answer must not keep. */
const FILE_HEADERS = ['content-disposition', 'accept-ranges', 'cache-control', 'etag', 'content-range'];

function contentDisposition(path: string): string {
  const name = posix.basename(path);
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

function manifestOf(found: FoundTask): OutputManifest {
  if (found.outputsDeletedAt) {
    const at = new Date(found.outputsDeletedAt).toISOString();
    throw new ApiError('OUTPUTS_EXPIRED', `the outputs retention deleted this task's outputs at ${at}`, {
      details: { outputsDeletedAt: at },
    });
  }
  const manifest = found.record.outputs;
  if (manifest) return manifest;
  if (!isFinal(found.record.status)) {
    throw new ApiError('OUTPUTS_NOT_READY', `the task is ${found.record.status}; outputs come when it ends`, {
      details: { status: found.record.status },
    });
  }
  throw new ApiError('NO_OUTPUTS', `the task ended ${found.record.status} without outputs`, {
    details: { status: found.record.status },
  });
}

function outputFile(manifest: OutputManifest, path: string): OutputFile {
  checkArtifactKey(path);
  const file = manifest.files.find((f) => f.path === path);
  if (!file)
    throw new ApiError('OUTPUT_NOT_FOUND', `the task has no output "${path}"`, { details: { path } });
  return file;
}

async function sendFile(
  ctx: ApiContext,
  reply: FastifyReply,
  manifest: OutputManifest,
  file: OutputFile,
): Promise<FastifyReply> {
  const key = `${manifest.prefix}/${file.path}`;
  const etag = `"${file.sha256}"`;
  reply.headers({
    'content-type': TYPES[posix.extname(file.path).toLowerCase()] ?? 'application/octet-stream',
    'content-disposition': contentDisposition(file.path),
    'x-content-type-options': 'nosniff',
    'accept-ranges': 'bytes',
    'cache-control': 'private, max-age=3600',
    etag,
  });
  if (reply.request.headers['if-none-match'] === etag) return reply.code(304).send();
  if (ctx.outputDelivery === 'redirect' && ctx.store.presignedGetUrl) {
    return reply.redirect(await ctx.store.presignedGetUrl(key, ctx.presignExpiresMs), 302);
  }
  const range = parseRange(reply.request.headers.range, file.size);
  if (range.kind === 'unsatisfiable') {
    throw new ApiError('RANGE_NOT_SATISFIABLE', `the file has ${file.size} bytes`, {
      details: { size: file.size },
      headers: { 'content-range': `bytes */${file.size}` },
    });
  }
  const partial = range.kind === 'partial';
  try {
    const stream = partial
      ? await ctx.store.get(key, { start: range.start, end: range.end })
      : await ctx.store.get(key);
    const length = partial ? range.end - range.start + 1 : file.size;
    reply.header('content-length', String(length));
    if (partial) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${file.size}`);
    // A local file is read into reused buffers and written to the socket; other stores' streams are piped.
    const source = fileSourceOf(stream);
    if (!source) return reply.send(stream);
    await sendFileSource(reply, stream, source, length);
    return reply;
  } catch (error) {
    // The error answer is no part of the file: no ETag, no caching, no attachment.
    for (const name of FILE_HEADERS) reply.removeHeader(name);
    throw error;
  }
}

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
        wanted === undefined
          ? manifest.files
          : [...new Set(wanted)].map((path) => outputFile(manifest, path));
      const mtime = new Date(found.record.endedAt ?? found.record.createdAt);
      const zip = zipOutputs(ctx.store, manifest, files, {
        compress: request.query.compress ?? false,
        mtime,
      });
      reply.headers({
        'content-type': 'application/zip',
        'content-disposition': `attachment; filename="${found.record.id}-outputs.zip"`,
        'x-content-type-options': 'nosniff',
      });
      if (zip.size !== null) reply.header('content-length', String(zip.size));
      return reply.send(zip.stream);
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
