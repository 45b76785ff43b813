/**
 * GET /v1/tasks/:id/logs: the task's stdout/stderr so far as text, from its live log stream (in the
 * order it was written), or, once the task has ended and that stream was trimmed, from its
 * stdout.txt/stderr.txt outputs. `?follow=1` streams it as Server-Sent Events (`log` events with
 * the entry id as event id) until the task ends (`end`), resuming after `Last-Event-ID`.
 * A finished task whose live stream is gone (archived with the task, or expired a grace after the
 * task ended: core task-log-expiry.ts) is answered from its output files alone, the same way
 * whichever (follow/output-logs.ts): as text, or, followed, as `log` events without ids and then
 * `end`; without log files among its outputs the text answer is 404 NO_OUTPUTS rather than an empty
 * log. A follow whose Last-Event-ID the live stream no longer holds entries after (trimmed, or
 * gone) gets a `resync` event and then the whole log again, never a silent gap.
 */
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Redis } from 'ioredis';
import {
  entriesLostAfter,
  isEntryId,
  isFinal,
  parseLogChunk,
  xinfoStreamWindow,
  type StreamWindow,
} from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { ApiError } from '../errors.js';
import { toApiError } from '../http/error-handler.js';
import {
  hasLogFiles,
  replayOutputLogs,
  sendEnd,
  sendOutputFiles,
  sendOutputLogs,
  sendResync,
  type WantedLog,
} from '../follow/output-logs.js';
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

/** The live stream no longer holds anything (expired, or never written). */
function liveGone(window: StreamWindow): boolean {
  return !window.exists || window.length === 0;
}

/** Whether the live stream still holds everything ever written to it. */
function liveComplete(window: StreamWindow): boolean {
  return window.entriesAdded <= window.length;
}

async function* liveLog(redis: Redis, key: string, until: string, want: WantedLog): AsyncGenerator<Buffer> {
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

/**
 * Follows the live stream after `from` until the task ends. When the stream loses entries after
 * the follow's place meanwhile, the client gets `resync` and the log again from the stream's
 * start; when nothing came from the stream after that and the task ended with log files, the
 * files follow.
 */
async function streamLogs(
  ctx: ApiContext,
  found: FoundTask,
  sse: SseStream,
  from: string,
  want: WantedLog,
): Promise<void> {
  let decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  /** Log events sent since the last resync in this follow (null: none happened). */
  const resynced: { sent: number | null } = { sent: null };
  try {
    const final = await followTask(
      ctx,
      found,
      {
        onLog: (chunk) => {
          if (want !== 'all' && chunk.stream !== want) return;
          if (resynced.sent !== null) resynced.sent++;
          sse.send(
            'log',
            { stream: chunk.stream, text: decoders[chunk.stream].write(chunk.data) },
            chunk.entryId,
          );
        },
        onLogResync: () => {
          sendResync(sse);
          decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
          resynced.sent = 0;
        },
      },
      { signal: sse.signal, logsFrom: from },
    );
    if (!isFinal(final.record.status)) return;
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = decoders[stream].end();
      if (rest) sse.send('log', { stream, text: rest });
    }
    if (resynced.sent === 0 && !(await sendOutputFiles(ctx, final, sse, want))) return;
    sendEnd(sse, final);
  } catch (error) {
    const apiError = toApiError(error);
    sse.send('error', { code: apiError.code, message: apiError.message });
  } finally {
    sse.end();
  }
}

/**
 * Where a follow's log comes from: the output files (a finished task whose live stream is gone,
 * or no longer holds what the client needs) or the live stream after `from`; `resync` when the
 * client's Last-Event-ID (`cursor`) has lost the entries after it.
 */
async function followPlan(
  ctx: ApiContext,
  found: FoundTask,
  cursor: string | null,
): Promise<{ source: 'outputs' | 'live'; from: string; resync: boolean }> {
  if (found.archivedAt !== null) return { source: 'outputs', from: '0-0', resync: cursor !== null };
  const window = await xinfoStreamWindow(ctx.redis, found.keys.log(found.record.id));
  const resync = cursor !== null && entriesLostAfter(window, cursor);
  if (isFinal(found.record.status)) {
    if (liveGone(window)) return { source: 'outputs', from: '0-0', resync: cursor !== null };
    const needsAll = resync || (cursor === null && !liveComplete(window));
    if (needsAll && hasLogFiles(found)) return { source: 'outputs', from: '0-0', resync };
  }
  return { source: 'live', from: resync ? '0-0' : (cursor ?? '0-0'), resync };
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
          '`error` {code, message}; `resync` {reason}: the live log no longer holds the output after ' +
          'Last-Event-ID (trimmed, or removed after the task ended), so the whole log follows again ' +
          '(drop what was shown). A finished task whose live log is gone (`archived` in its view, or ' +
          'a grace after it ended) is answered from its stdout.txt/stderr.txt outputs (its `log` ' +
          'events carry no id), or 404 NO_OUTPUTS without them.',
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
        const plan = await followPlan(ctx, found, from === '0-0' ? null : from);
        const sse = startSse(reply);
        if (plan.source === 'outputs') void replayOutputLogs(ctx, found, sse, want, plan.resync);
        else {
          if (plan.resync) sendResync(sse);
          void streamLogs(ctx, found, sse, plan.from, want);
        }
        return reply;
      }
      if (found.archivedAt !== null) return sendOutputLogs(ctx, reply, found, want);
      const [window, until] = await Promise.all([
        xinfoStreamWindow(ctx.redis, key),
        lastEntryId(ctx.redis, key),
      ]);
      // Once the task ended, the files hold everything; the live stream may be trimmed or gone.
      if (isFinal(found.record.status)) {
        if (liveGone(window)) return sendOutputLogs(ctx, reply, found, want);
        if (!liveComplete(window) && hasLogFiles(found)) return sendOutputLogs(ctx, reply, found, want);
      }
      return reply
        .type('text/plain; charset=utf-8')
        .headers({
          'x-content-type-options': 'nosniff',
          'gpufleet-log-source': 'live',
          'gpufleet-log-complete': String(liveComplete(window)),
          'gpufleet-log-cursor': until,
        })
        .send(Readable.from(liveLog(ctx.redis, key, until, want)));
    },
  );
};
