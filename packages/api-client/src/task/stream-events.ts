/**
 * What the API's event streams carry (docs/api.md: `/events` and `/logs?follow=1`). The OpenAPI
 * document describes these streams as text, so their payloads are typed here, with a `type` tag
 * added for narrowing.
 */
import type { TaskFailureCode, TaskStatus, TaskSummary } from '../generated/api-types.js';

/** A running service's state as a task shows it (`task.service`): null for other tasks. */
export type ServiceView = NonNullable<TaskSummary['service']>;
/** `waiting-for-port`, `starting`, `ready` (endpoints published) or `restarting`. */
export type ServiceState = ServiceView['state'];

/** A status transition: the first one is the task's status when the stream opened. */
export interface StatusEvent {
  type: 'status';
  taskId: string;
  status: TaskStatus;
  attempt: number;
  /** ISO 8601, or null when unknown. */
  at: string | null;
  tracker: string | null;
  reason: string | null;
}

/** While the task runs, at most once a second when it wrote output. */
export interface ProgressEvent {
  type: 'progress';
  at: string;
  /** Bytes of stdout and stderr written since the stream opened. */
  outputBytes: number;
  lastLine: string;
}

/**
 * The API lost this stream's place: what came after the client's last event can no longer be read
 * (the live log or the events stream was trimmed past it, or the log was removed once the task
 * ended). On a log stream the whole log follows again, from its beginning: drop what was shown.
 * On an events stream the next `status` is the task as it is now.
 */
export interface StreamResync {
  type: 'resync';
  reason: string;
}

/**
 * A change of a service's state (an executer with a `service` block): `ready` with its endpoints,
 * `restarting` with why... The first one comes right after the first `status` when the stream
 * opens while a service runs. Its endpoints are withdrawn by any later non-ready state and by any
 * status other than `running`.
 */
export interface ServiceEvent {
  type: 'service';
  taskId: string;
  attempt: number;
  state: ServiceState;
  /** Port name → `host:port`: only while `ready`, else null. */
  endpoints: Record<string, string> | null;
  /** ISO 8601: when it changed (for `ready` sent on opening, when it became ready). */
  at: string | null;
  tracker: string | null;
  /** Why it waits for a port or restarts; null otherwise. */
  reason: string | null;
}

export type TaskEvent = StatusEvent | ProgressEvent | ServiceEvent | StreamResync;

export type LogStreamName = 'stdout' | 'stderr';

/** A chunk of output as the tracker published it (usually whole lines). */
export interface LogChunk {
  type: 'log';
  stream: LogStreamName;
  text: string;
  /** The log entry id; resume after it with `from`. Null for a stream's final leftover bytes. */
  id: string | null;
}

/** The task ended; the log stream is complete. */
export interface LogEnd {
  type: 'end';
  status: TaskStatus;
  exitCode: number | null;
  error: string | null;
  /** Why it did not succeed, as a stable code (docs/task-failures.md); null when it succeeded. */
  errorCode: TaskFailureCode | null;
}

/** One line of output, without its line end. */
export interface LogLine {
  stream: LogStreamName;
  text: string;
}
