/**
 * GET /v1/tasks/:id/logs: the task's stdout/stderr so far as text, from its live log stream (in the
 * order it was written), or, when that stream was trimmed and the task has ended, from its
 * stdout.txt/stderr.txt outputs. `?follow=1` streams it as Server-Sent Events (`log` events with
 * the entry id as event id) until the task ends (`end`), resuming after `Last-Event-ID`.
 * An archived task (it ended and left Redis, its live log stream with it) is answered from its
 * output files alone: as text, or, followed, as `log` events without ids and then `end`; without
 * log files among its outputs the text answer is 404 NO_OUTPUTS rather than an empty log.
 */
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import {
  isEntryId,
  isFinal,
  parseLogChunk,
  xinfoStream,
  type ArtifactStore,
  type LogStreamName,
} from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { ApiError } from '../errors.js';
import { toApiError } from '../http/error-handler.js';
import { startSse, type SseStream } from '../follow/sse.js';
import { followTask, lastEntryId } from '../follow/task-follow.js';
import { errorResponses, StreamBody, TaskIdParams } from '../schemas/common.js';
import type { FoundTask } from '../tasks/task-finder.js';
import { loadTask } from '../tasks/load-task.js';

const LogsQuery = Type.Object(
  {
    follow: Type.Optional(Type.Boolean({ description: 'stream new output (SSE) until the task ends' })),
    stream: Type.Optional(
      Type.Union([Type.Literal('all'), Type.Literal('stdout'), Type.Literal('stderr')], { default: 'all' }),
    ),
  },
  { additionalProperties: false },
);

const LogsHeaders = Type.Object({
  'last-event-id': Type.Optional(Type.String({ description: 'follow: resume after this log entry id' })),
});

const PAGE = 500;

/** Whether the live stream still holds everything ever written to it. */
async function liveLogComplete(redis: Redis, key: string): Promise<boolean> {
  try {
    const info = await xinfoStream(redis, key);
    return info.entriesAdded !== null && info.entriesAdded <= info.length;
  } catch (error) {
    if (error instanceof Error && /no such key/i.test(error.message)) return true;
    throw error;
  }
}

async function* liveLog(
  redis: Redis,
  key: string,
  until: string,
  want: 'all' | LogStreamName,
): AsyncGenerator<Buffer> {
  let cursor = '0-0';
  if (until === '0-0') return;
  for (;;) {
    const page = await redis.xrangeBuffer(key, `(${cursor}`, until, 'COUNT', PAGE);
    for (const [id, fields] of page) {
      cursor = id.toString();
      const chunk = parseLogChunk(cursor, fields);
      if (chunk && (want === 'all' || chunk.stream === want)) yield chunk.data;
    }
    if (page.length < PAGE) return;
  }
}

async function* outputLog(
  store: ArtifactStore,
  found: FoundTask,
  want: 'all' | LogStreamName,
): AsyncGenerator<Buffer> {
  const manifest = found.record.outputs;
  if (!manifest) return;
  for (const name of want === 'all' ? ['stdout', 'stderr'] : [want]) {
    if (!manifest.files.some((f) => f.path === `${name}.txt`)) continue;
    for await (const chunk of await store.get(`${manifest.prefix}/${name}.txt`)) yield chunk as Buffer;
  }
}

/** The SSE `end` event of an ended task. */
function sendEnd(sse: SseStream, found: FoundTask): void {
  const r = found.record;
  sse.send('end', { status: r.status, exitCode: r.exitCode, error: r.error, errorCode: r.errorCode });
}

/**
 * Follows an archived task: its output log files as `log` events, then `end`. They may be large
 * and are all there at once, so each event waits for the client to read the last one.
 */
async function replayArchivedLogs(
  ctx: ApiContext,
  found: FoundTask,
  sse: SseStream,
  want: 'all' | LogStreamName,
): Promise<void> {
  try {
    const manifest = found.record.outputs;
    for (const stream of want === 'all' ? (['stdout', 'stderr'] as const) : [want]) {
      if (!manifest?.files.some((f) => f.path === `${stream}.txt`)) continue;
      const decoder = new StringDecoder('utf8');
      for await (const chunk of await ctx.store.get(`${manifest.prefix}/${stream}.txt`)) {
        if (sse.signal.aborted) return;
        const text = decoder.write(chunk as Buffer);
        if (text) sse.send('log', { stream, text });
        await sse.drained();
      }
      const rest = decoder.end();
      if (rest) sse.send('log', { stream, text: rest });
    }
    sendEnd(sse, found);
  } catch (error) {
    const apiError = toApiError(error);
    sse.send('error', { code: apiError.code, message: apiError.message });
  } finally {
    sse.end();
  }
}

async function streamLogs(
  ctx: ApiContext,
  found: FoundTask,
  sse: SseStream,
  from: string,
  want: 'all' | LogStreamName,
): Promise<void> {
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  try {
    const final = await followTask(
      ctx,
      found,
      {
        onLog: (chunk) => {
          if (want !== 'all' && chunk.stream !== want) return;
          sse.send(
            'log',
            { stream: chunk.stream, text: decoders[chunk.stream].write(chunk.data) },
            chunk.entryId,
          );
        },
      },
      { signal: sse.signal, logsFrom: from },
    );
    if (!isFinal(final.record.status)) return;
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = decoders[stream].end();
      if (rest) sse.send('log', { stream, text: rest });
    }
    sendEnd(sse, final);
  } catch (error) {
    const apiError = toApiError(error);
    sse.send('error', { code: apiError.code, message: apiError.message });
  } finally {
    sse.end();
  }
}

/** An archived task's log as text: its live stream is gone, so the output files are all there is. */
function sendArchivedLogs(
  ctx: ApiContext,
  reply: FastifyReply,
  found: FoundTask,
  want: 'all' | LogStreamName,
  hasFiles: boolean,
): FastifyReply {
  if (!hasFiles) {
    // An empty 200 would read as "it wrote nothing"; the log is not known, so say so.
    throw new ApiError(
      'NO_OUTPUTS',
      'the task was archived (its live log left Redis) and its outputs hold no stdout.txt or stderr.txt',
      { details: { status: found.record.status, archived: true } },
    );
  }
  return reply
    .type('text/plain; charset=utf-8')
    .headers({
      'x-content-type-options': 'nosniff',
      'gpufleet-log-source': 'outputs',
      'gpufleet-log-complete': 'true',
    })
    .send(Readable.from(outputLog(ctx.store, found, want)));
}

export const taskLogRoutes: FastifyPluginAsyncTypebox<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.get(
    '/tasks/:id/logs',
    {
      schema: {
        tags: ['tasks'],
        summary: 'The task’s stdout/stderr so far; ?follow=1 streams new output (SSE) until it ends',
        description:
          'Text answers carry `Gpufleet-Log-Source` (live | outputs), `Gpufleet-Log-Complete` and, ' +
          'from the live stream, `Gpufleet-Log-Cursor` (pass it as Last-Event-ID to follow from there). ' +
          'SSE events: `log` {stream, text} with the entry id as id; `end` {status, exitCode, error, errorCode}; ' +
          '`error` {code, message}. An archived task (`archived` in its view) is answered from its ' +
          'stdout.txt/stderr.txt outputs (its `log` events carry no id), or 404 NO_OUTPUTS without them.',
        params: TaskIdParams,
        querystring: LogsQuery,
        headers: LogsHeaders,
        response: {
          200: {
            content: {
              'text/plain': { schema: StreamBody() },
              'text/event-stream': { schema: StreamBody({ description: 'Server-Sent Events' }) },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const found = await loadTask(ctx, request, request.params.id);
      const want = request.query.stream ?? 'all';
      const key = found.keys.log(found.record.id);
      if (request.query.follow) {
        const from = request.headers['last-event-id'] ?? '0-0';
        if (!isEntryId(from)) throw new ApiError('INVALID_CURSOR', 'Last-Event-ID is not a log entry id');
        if (found.archivedAt !== null) void replayArchivedLogs(ctx, found, startSse(reply), want);
        else void streamLogs(ctx, found, startSse(reply), from, want);
        return reply;
      }
      const hasFiles = found.record.outputs?.files.some(
        (f) => f.path === 'stdout.txt' || f.path === 'stderr.txt',
      );
      if (found.archivedAt !== null) return sendArchivedLogs(ctx, reply, found, want, hasFiles === true);
      const [complete, until] = await Promise.all([
        liveLogComplete(ctx.redis, key),
        lastEntryId(ctx.redis, key),
      ]);
      reply.type('text/plain; charset=utf-8').header('x-content-type-options', 'nosniff');
      // The files hold everything once the task ended; the live stream may have been trimmed or removed.
      if (isFinal(found.record.status) && hasFiles && (!complete || until === '0-0')) {
        return reply
          .headers({ 'gpufleet-log-source': 'outputs', 'gpufleet-log-complete': 'true' })
          .send(Readable.from(outputLog(ctx.store, found, want)));
      }
      return reply
        .headers({
          'gpufleet-log-source': 'live',
          'gpufleet-log-complete': String(complete),
          'gpufleet-log-cursor': until,
        })
        .send(Readable.from(liveLog(ctx.redis, key, until, want)));
    },
  );
};
