/**
 * Follows a task's stdout and stderr (GET /v1/tasks/:id/logs?follow=1) until it ends, resuming
 * after the last entry when the connection drops: chunks as the tracker published them, then the
 * end. `followLines` splits them into lines.
 */
import type { HttpClient } from '../http/http-client.js';
import type { TaskFailureCode, TaskStatus } from '../generated/api-types.js';
import { LineSplitter } from './log-lines.js';
import { resumableStream } from './resumable-stream.js';
import type { LogChunk, LogEnd, LogLine, LogStreamName } from './stream-events.js';

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
): AsyncGenerator<LogChunk | LogEnd> {
  const messages = resumableStream(
    http,
    `/v1/tasks/${encodeURIComponent(taskId)}/logs`,
    (m) => m.event === 'end',
    { query: { follow: true, stream: options.stream }, from: options.from, signal: options.signal },
  );
  for await (const message of messages) {
    if (message.event === 'log') {
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

/** The task's output as lines until it ends. */
export async function* followLines(
  http: HttpClient,
  taskId: string,
  options: FollowLogsOptions = {},
): AsyncGenerator<LogLine> {
  const splitter = new LineSplitter();
  for await (const item of followLogs(http, taskId, options)) {
    if (item.type === 'log') yield* splitter.push(item.stream, item.text);
  }
  yield* splitter.flush();
}
