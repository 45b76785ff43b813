/**
 * GET /v1/tasks/:id/logs: the task's stdout/stderr so far as text, from its live log stream (in the
 * order it was written), or, when that stream was trimmed and the task has ended, from its
 * stdout.txt/stderr.txt outputs. `?follow=1` streams it as Server-Sent Events (`log` events with
 * the entry id as event id) until the task ends (`end`), resuming after `Last-Event-ID`.
 */
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
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
    const r = final.record;
    sse.send('end', { status: r.status, exitCode: r.exitCode, error: r.error, errorCode: r.errorCode });
  } catch (error) {
    const apiError = toApiError(error);
    sse.send('error', { code: apiError.code, message: apiError.message });
  } finally {
    sse.end();
  }
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
          '`error` {code, message}.',
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
        void streamLogs(ctx, found, startSse(reply), from, want);
        return reply;
      }
      const [complete, until] = await Promise.all([
        liveLogComplete(ctx.redis, key),
        lastEntryId(ctx.redis, key),
      ]);
      const hasFiles = found.record.outputs?.files.some(
        (f) => f.path === 'stdout.txt' || f.path === 'stderr.txt',
      );
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
