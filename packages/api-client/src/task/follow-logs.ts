/**
 * Follows a task's stdout and stderr (GET /v1/tasks/:id/logs?follow=1) until it ends, resuming
 * after the last entry when the connection drops: chunks as the tracker published them, then the
 * end. When the API can no longer resume after the last entry (the live log was trimmed past it,
 * or removed once the task ended), a `resync` comes first and the whole log follows again.
 * `followLines` splits them into lines.
 */
import type { HttpClient } from '../http/http-client.js';
import type { TaskFailureCode, TaskStatus } from '../generated/api-types.js';
import { LineSplitter } from './log-lines.js';
import { resumableStream } from './resumable-stream.js';
import type { LogChunk, LogEnd, LogLine, LogStreamName, StreamResync } from './stream-events.js';

export interface FollowLogsOptions {
  /** One stream only (default both, in the order they were written). */
  stream?: LogStreamName;
  /** Resume after this log entry id. */
  from?: string | null;
  signal?: AbortSignal;
}

export async function* followLogs(
  http: HttpClient,
  taskId: string,
  options: FollowLogsOptions = {},
): AsyncGenerator<LogChunk | LogEnd | StreamResync> {
  const messages = resumableStream(
    http,
    `/v1/tasks/${encodeURIComponent(taskId)}/logs`,
    (m) => m.event === 'end',
    {
      query: { follow: true, stream: options.stream },
      from: options.from,
      signal: options.signal,
      replays: true,
    },
  );
  for await (const message of messages) {
    if (message.event === 'resync') {
      yield { ...(JSON.parse(message.data) as Omit<StreamResync, 'type'>), type: 'resync' };
    } else if (message.event === 'log') {
      const data = JSON.parse(message.data) as { stream: LogStreamName; text: string };
      yield { type: 'log', stream: data.stream, text: data.text, id: message.id };
    } else if (message.event === 'end') {
      const data = JSON.parse(message.data) as {
        status: TaskStatus;
        exitCode: number | null;
        error: string | null;
        errorCode?: TaskFailureCode | null;
      };
      const { status, exitCode, error } = data;
      yield { type: 'end', status, exitCode, error, errorCode: data.errorCode ?? null };
    }
  }
}

/**
 * The task's output as lines until it ends. After a resync the output starts again from its
 * beginning (a line cut short by it is dropped): use `followLogs` to tell the two apart.
 */
export async function* followLines(
  http: HttpClient,
  taskId: string,
  options: FollowLogsOptions = {},
): AsyncGenerator<LogLine> {
  let splitter = new LineSplitter();
  for await (const item of followLogs(http, taskId, options)) {
    if (item.type === 'log') yield* splitter.push(item.stream, item.text);
    else if (item.type === 'resync') splitter = new LineSplitter();
  }
  yield* splitter.flush();
}
