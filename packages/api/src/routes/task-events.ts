/**
 * GET /v1/tasks/:id/events: Server-Sent Events of the task's status transitions (`status`) and,
 * while it runs, of its progress (`progress`: output so far and its last line, at most once a
 * second) and of a service's state (`service`: `ready` with its endpoints, `restarting`...), ending
 * with the final status. With `?wait=1` it is a plain long-poll instead: the task's
 * record once it is final, or as it is when `timeoutMs` passes. An archived task (it left Redis)
 * is final: either form answers at once, from its archived record (followTask finds it final).
 * When transitions were trimmed from the queue's events stream before this follow read them, it
 * says so with a `resync` event and goes on from the task's record (its current status).
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { isFinal, type TaskEvent } from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { toApiError } from '../http/error-handler.js';
import { startSse, type SseStream } from '../follow/sse.js';
import { followTask, lastEntryId } from '../follow/task-follow.js';
import { errorResponses, isoTime, StreamBody, TaskIdParams } from '../schemas/common.js';
import type { FoundTask } from '../tasks/task-finder.js';
import { loadTask, viewOf } from '../tasks/load-task.js';
import { TaskViewSchema } from '../tasks/task-view.js';

const EventsQuery = Type.Object(
  {
    wait: Type.Optional(Type.Boolean({ description: 'long-poll: answer with the record once final' })),
    timeoutMs: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 120_000,
        default: 30_000,
        description: 'long-poll: the longest wait',
      }),
    ),
  },
  { additionalProperties: false },
);

const PROGRESS_EVERY_MS = 1000;
const LAST_LINE_CHARS = 300;

function statusAt(found: FoundTask): number | null {
  const r = found.record;
  if (isFinal(r.status)) return r.endedAt;
  return r.status === 'queued' ? r.createdAt : r.startedAt;
}

/** Streams status and progress events until the task ends. */
async function streamEvents(ctx: ApiContext, found: FoundTask, sse: SseStream): Promise<void> {
  let last: { status: string; attempt: number } | null = null;
  const sendStatus = (event: Omit<TaskEvent, 'entryId' | 'at'> & { at: number | null }): void => {
    if (last && last.status === event.status && last.attempt === event.attempt) return;
    last = { status: event.status, attempt: event.attempt };
    sse.send('status', { ...event, at: isoTime(event.at) });
  };
  const sendService = (event: TaskEvent): void => {
    const { taskId, attempt, tracker, reason } = event;
    const endpoints = event.endpoints ?? null;
    sse.send('service', {
      taskId,
      attempt,
      state: event.service,
      endpoints,
      at: isoTime(event.at),
      tracker,
      reason,
    });
  };
  const fromRecord = (f: FoundTask): void => {
    sendStatus({
      taskId: f.record.id,
      status: f.record.status,
      attempt: f.record.attempt,
      at: statusAt(f),
      tracker: f.record.tracker,
      reason: f.record.error,
    });
    // A follower that comes while a service runs learns its state (its endpoints) at once.
    const service = f.record.service;
    if (service && f.record.status === 'running') {
      sendService({
        entryId: '',
        taskId: f.record.id,
        status: 'running',
        attempt: f.record.attempt,
        at: service.readyAt ?? ctx.now(),
        tracker: f.record.tracker,
        reason: service.reason,
        service: service.state,
        ...(service.endpoints && { endpoints: service.endpoints }),
      });
    }
  };
  let outputBytes = 0;
  let lastLine = '';
  let progressTimer: NodeJS.Timeout | null = null;
  const sendProgress = (): void => {
    progressTimer = null;
    if (!isFinal((last?.status ?? 'queued') as TaskEvent['status'])) {
      sse.send('progress', { at: new Date(ctx.now()).toISOString(), outputBytes, lastLine });
    }
  };
  try {
    const final = await followTask(
      ctx,
      found,
      {
        onStart: fromRecord,
        onEvent: (event) => (event.service ? sendService(event) : sendStatus(event)),
        onResync: (current) => {
          sse.send('resync', {
            reason:
              'status transitions were trimmed from the events stream before they were read; the status follows from the task’s record',
          });
          fromRecord(current);
        },
        onLog: (chunk) => {
          outputBytes += chunk.data.length;
          const lines = chunk.data
            .toString('utf8')
            .split(/\r?\n|\r/)
            .filter((l) => l.trim() !== '');
          if (lines.length > 0) lastLine = (lines.at(-1) as string).slice(-LAST_LINE_CHARS);
          progressTimer ??= setTimeout(sendProgress, PROGRESS_EVERY_MS);
        },
      },
      { signal: sse.signal, logsFrom: await lastEntryId(ctx.redis, found.keys.log(found.record.id)) },
    );
    if (progressTimer) clearTimeout(progressTimer);
    if (isFinal(final.record.status)) fromRecord(final);
  } catch (error) {
    if (progressTimer) clearTimeout(progressTimer);
    const apiError = toApiError(error);
    sse.send('error', { code: apiError.code, message: apiError.message });
  } finally {
    sse.end();
  }
}

export const taskEventRoutes: FastifyPluginAsyncTypebox<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.get(
    '/tasks/:id/events',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Follow a task: SSE of status and progress, or a long-poll with ?wait=1',
        description:
          'SSE events: `status` {taskId, status, attempt, at, tracker, reason} for each transition, ' +
          'the last one final; `progress` {at, outputBytes, lastLine} while it runs; `error` {code, message}; ' +
          '`service` {taskId, attempt, state, endpoints, at, tracker, reason} for each change of a service’s state ' +
          '(`ready` with its endpoints; sent first too when the follow begins while a service runs); ' +
          '`resync` {reason}: transitions were trimmed from the queue’s events stream before they were read, ' +
          'and the `status` that follows is the task’s record as it is now.',
        params: TaskIdParams,
        querystring: EventsQuery,
        response: {
          200: {
            content: {
              'text/event-stream': { schema: StreamBody({ description: 'Server-Sent Events' }) },
              'application/json': { schema: TaskViewSchema },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const found = await loadTask(ctx, request, request.params.id);
      if (request.query.wait) {
        const controller = new AbortController();
        reply.raw.once('close', () => controller.abort());
        const timeoutMs = Math.min(request.query.timeoutMs ?? 30_000, ctx.limits.maxWaitMs);
        const done = await followTask(ctx, found, {}, { signal: controller.signal, timeoutMs });
        const latest = (await ctx.finder.reload(done)) ?? done;
        return reply.type('application/json').send(await viewOf(ctx, latest));
      }
      void streamEvents(ctx, found, startSse(reply));
      return reply;
    },
  );
};
