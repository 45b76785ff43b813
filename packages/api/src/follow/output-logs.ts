/**
 * A finished task's log from its stdout.txt and stderr.txt outputs, for when its live log stream
 * no longer holds it: the task was archived (the stream left Redis with it), the stream expired
 * after the task ended (core task-log-expiry.ts), or it was trimmed. As text (`sendOutputLogs`),
 * or followed (`replayOutputLogs`: `log` events without ids, stdout then stderr, then `end`).
 * Also the SSE events every log follow ends or restarts with (`sendEnd`, `sendResync`).
 */
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { FastifyReply } from 'fastify';
import type { ArtifactStore, LogStreamName } from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { ApiError } from '../errors.js';
import { toApiError } from '../http/error-handler.js';
import type { FoundTask } from '../tasks/task-finder.js';
import type { SseStream } from './sse.js';

export type WantedLog = 'all' | LogStreamName;

/** Whether the task's outputs hold a log file. */
export function hasLogFiles(found: FoundTask): boolean {
  return found.record.outputs?.files.some((f) => f.path === 'stdout.txt' || f.path === 'stderr.txt') === true;
}

/** The log files wanted that the outputs hold, in the order they are sent. */
function logFiles(found: FoundTask, want: WantedLog): LogStreamName[] {
  const files = found.record.outputs?.files ?? [];
  const streams: LogStreamName[] = want === 'all' ? ['stdout', 'stderr'] : [want];
  return streams.filter((s) => files.some((f) => f.path === `${s}.txt`));
}

async function* outputLog(store: ArtifactStore, found: FoundTask, want: WantedLog): AsyncGenerator<Buffer> {
  for (const stream of logFiles(found, want)) {
    const key = `${found.record.outputs?.prefix}/${stream}.txt`;
    for await (const chunk of await store.get(key)) yield chunk as Buffer;
  }
}

/** The SSE `end` event of an ended task. */
export function sendEnd(sse: SseStream, found: FoundTask): void {
  const r = found.record;
  sse.send('end', { status: r.status, exitCode: r.exitCode, error: r.error, errorCode: r.errorCode });
}

/**
 * The SSE `resync` event: the log after the client's place (its Last-Event-ID, or where a follow
 * was) is no longer in the live stream (trimmed, or gone since the task ended), so what follows is
 * the whole log again.
 */
export function sendResync(sse: SseStream): void {
  sse.send('resync', {
    reason:
      'the live log no longer holds the output after where this follow was (trimmed, or removed after the task ended); the log starts again from the beginning',
  });
}

/** The task's log as text from its output files; 404 NO_OUTPUTS when they hold none. */
export function sendOutputLogs(
  ctx: ApiContext,
  reply: FastifyReply,
  found: FoundTask,
  want: WantedLog,
): FastifyReply {
  if (!hasLogFiles(found)) {
    // An empty 200 would read as "it wrote nothing"; the log is not known, so say so.
    const where =
      found.archivedAt !== null
        ? 'the task was archived (its live log left Redis)'
        : 'its live log left Redis';
    throw new ApiError('NO_OUTPUTS', `${where} and its outputs hold no stdout.txt or stderr.txt`, {
      details: { status: found.record.status, archived: found.archivedAt !== null },
    });
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

/**
 * Sends the output files as `log` events. They may be large and are all there at once, so each
 * event waits for the client to read the last one. False when the client went away.
 */
export async function sendOutputFiles(
  ctx: ApiContext,
  found: FoundTask,
  sse: SseStream,
  want: WantedLog,
): Promise<boolean> {
  for (const stream of logFiles(found, want)) {
    const decoder = new StringDecoder('utf8');
    for await (const chunk of await ctx.store.get(`${found.record.outputs?.prefix}/${stream}.txt`)) {
      if (sse.signal.aborted) return false;
      const text = decoder.write(chunk as Buffer);
      if (text) sse.send('log', { stream, text });
      await sse.drained();
    }
    const rest = decoder.end();
    if (rest) sse.send('log', { stream, text: rest });
  }
  return true;
}

/** Follows a finished task from its output files: `resync` first when asked, the files, then `end`. */
export async function replayOutputLogs(
  ctx: ApiContext,
  found: FoundTask,
  sse: SseStream,
  want: WantedLog,
  resync: boolean,
): Promise<void> {
  try {
    if (resync) sendResync(sse);
    if (await sendOutputFiles(ctx, found, sse, want)) sendEnd(sse, found);
  } catch (error) {
    const apiError = toApiError(error);
    sse.send('error', { code: apiError.code, message: apiError.message });
  } finally {
    sse.end();
  }
}
