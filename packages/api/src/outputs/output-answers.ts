/**
 * How an output is answered, by GET /v1/tasks/:id/outputs/<path> and outputs.zip and by the
 * download links that stand for them (GET /v1/downloads/:token): the manifest (or why there is
 * none), one file (Range, ETag, its type, a redirect to a presigned URL when the API delivers
 * that way) and the zip. Files are sent as attachments with `nosniff`, so an output is never
 * rendered as a page of the API's origin; both answers are built here once, so a link serves
 * exactly what the route it stands for serves.
 */
import { posix } from 'node:path';
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
import type { FoundTask } from '../tasks/task-finder.js';
import { parseRange } from './byte-range.js';
import { zipOutputs } from './outputs-zip.js';
import { sendFileSource } from './send-file-source.js';

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

/** The task's output manifest, or the error that says why it has none (deleted, not ended, none). */
export function manifestOf(found: FoundTask): OutputManifest {
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

/** The manifest's entry for `path` (checked not to escape first), or OUTPUT_NOT_FOUND naming it. */
export function outputFile(manifest: OutputManifest, path: string): OutputFile {
  checkArtifactKey(path);
  const file = manifest.files.find((f) => f.path === path);
  if (!file)
    throw new ApiError('OUTPUT_NOT_FOUND', `the task has no output "${path}"`, { details: { path } });
  return file;
}

/**
 * Answers one output file: its type, `attachment` with its name, `nosniff`, its sha256 as the ETag
 * (If-None-Match → 304), a Range → 206 (416 past the end); a redirect to a presigned URL with
 * redirect delivery.
 */
export async function sendFile(
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

/** Answers `files` of the task's outputs (all of them by default) as a zip, streamed while it is built. */
export function sendZip(
  ctx: ApiContext,
  reply: FastifyReply,
  found: FoundTask,
  manifest: OutputManifest,
  options: { files?: readonly OutputFile[]; compress?: boolean } = {},
): FastifyReply {
  const mtime = new Date(found.record.endedAt ?? found.record.createdAt);
  const zip = zipOutputs(ctx.store, manifest, options.files ?? manifest.files, {
    compress: options.compress ?? false,
    mtime,
  });
  reply.headers({
    'content-type': 'application/zip',
    'content-disposition': `attachment; filename="${found.record.id}-outputs.zip"`,
    'x-content-type-options': 'nosniff',
  });
  if (zip.size !== null) reply.header('content-length', String(zip.size));
  return reply.send(zip.stream);
}
