/**
 * One task, by id: its record, waiting for its end, following its events and its output lines,
 * a service's endpoints (waiting for them, following their changes), its logs, downloading its outputs, changing its priority while it waits and cancelling it. Made by `client.task(id)`; `submit()`
 * returns a `SubmittedTask`, which also holds the submission's answer.
 */
import type {
  CancelResult,
  OutputManifest,
  PriorityChange,
  SubmitResult,
  TaskView,
} from '../generated/api-types.js';
import type { HttpClient } from '../http/http-client.js';
import { nodeOnly } from '../node-only.js';
import type { DownloadOptions, DownloadResult } from '../outputs/download-outputs.js';
import { followLines, followLogs, type FollowLogsOptions } from './follow-logs.js';
import {
  followEndpoints,
  waitForEndpoints,
  type EndpointsListener,
  type FollowEndpointsOptions,
  type ServiceEndpoints,
  type WaitForEndpointsOptions,
} from './service-endpoints.js';
import type {
  LogChunk,
  LogEnd,
  LogLine,
  LogStreamName,
  StatusEvent,
  StreamResync,
  TaskEvent,
} from './stream-events.js';
import { taskEvents } from './task-events.js';
import { waitForTask, type WaitOptions } from './wait-for-task.js';

/** The logs so far (GET /v1/tasks/:id/logs), with where they came from. */
export interface LogText {
  text: string;
  /** `live` (the log stream) or `outputs` (stdout.txt and stderr.txt of an ended task). */
  source: string;
  complete: boolean;
  /** The last live entry: pass as `from` to follow from there. */
  cursor: string | null;
}

export class TaskHandle {
  constructor(
    protected readonly http: HttpClient,
    readonly id: string,
  ) {}

  protected get path(): string {
    return `/v1/tasks/${encodeURIComponent(this.id)}`;
  }

  /** The task as it is now. */
  async get(options: { signal?: AbortSignal } = {}): Promise<TaskView> {
    return this.http.json<TaskView>(this.path, options);
  }

  /** Resolves with the task once it reached a final status (whichever: check `status`). */
  async wait(options: WaitOptions = {}): Promise<TaskView> {
    return waitForTask(this.http, this.id, options);
  }

  /** Status transitions, progress and a service's state changes until the final status. */
  events(options: { signal?: AbortSignal } = {}): AsyncGenerator<TaskEvent> {
    return taskEvents(this.http, this.id, options);
  }

  /**
   * A service task's endpoints once it is ready (at once when it is now). Rejects with
   * `TaskEndedError` when the task reaches a final status first, `WaitTimeoutError` past `timeoutMs`.
   */
  async waitForEndpoints(options: WaitForEndpointsOptions = {}): Promise<ServiceEndpoints> {
    return waitForEndpoints(this.http, this.id, options);
  }

  /**
   * Calls `onChange` with the endpoints each time its service becomes ready (again after a
   * restart, maybe elsewhere) and with null when they are withdrawn; resolves at the final status.
   */
  async followEndpoints(
    onChange: EndpointsListener,
    options: FollowEndpointsOptions = {},
  ): Promise<StatusEvent> {
    return followEndpoints(this.http, this.id, onChange, options);
  }

  /** stdout and stderr as lines, from the start, until the task ends. */
  follow(options: FollowLogsOptions = {}): AsyncGenerator<LogLine> {
    return followLines(this.http, this.id, options);
  }

  /**
   * stdout and stderr as published chunks, then the end (status, exit code, error); a `resync`
   * when the log starts again from its beginning (see `StreamResync`).
   */
  followLogs(options: FollowLogsOptions = {}): AsyncGenerator<LogChunk | LogEnd | StreamResync> {
    return followLogs(this.http, this.id, options);
  }

  /** The output so far as text. */
  async logs(options: { stream?: LogStreamName; signal?: AbortSignal } = {}): Promise<LogText> {
    const response = await this.http.request(`${this.path}/logs`, {
      query: { stream: options.stream },
      signal: options.signal,
    });
    return {
      text: await response.text(),
      source: response.headers.get('gpufleet-log-source') ?? 'live',
      complete: response.headers.get('gpufleet-log-complete') === 'true',
      cursor: response.headers.get('gpufleet-log-cursor'),
    };
  }

  /** The output so far as a byte stream (for large logs). */
  async logStream(
    options: { stream?: LogStreamName; signal?: AbortSignal } = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const response = await this.http.request(`${this.path}/logs`, {
      query: { stream: options.stream },
      signal: options.signal,
    });
    return response.body ?? new ReadableStream({ start: (c) => c.close() });
  }

  /** The output manifest (once the task ended). */
  async outputs(options: { signal?: AbortSignal } = {}): Promise<OutputManifest> {
    return this.http.json<OutputManifest>(`${this.path}/outputs`, options);
  }

  /** Downloads the outputs (or `files`) into `dir`, each checked against its sha256 (Node only). */
  async download(dir: string, options: DownloadOptions = {}): Promise<DownloadResult> {
    const downloadOutputs = await nodeOnly(
      'task.download()',
      async () => (await import('../outputs/download-outputs.js')).downloadOutputs,
    );
    return downloadOutputs(this.http, this.id, dir, options);
  }

  /**
   * Sets its priority (0-1000, higher starts first) while it waits: it moves to its new place in
   * line at once. A task that runs or ended is an ApiRequestError `TASK_NOT_WAITING` (409).
   */
  async setPriority(priority: number, options: { signal?: AbortSignal } = {}): Promise<PriorityChange> {
    return this.http.json<PriorityChange>(`${this.path}/priority`, {
      method: 'PUT',
      json: { priority },
      signal: options.signal,
    });
  }

  /** Cancels it: a queued task ends at once, a running one is stopped by its tracker. */
  async cancel(options: { signal?: AbortSignal } = {}): Promise<CancelResult> {
    return this.http.json<CancelResult>(`${this.path}/cancel`, { method: 'POST', signal: options.signal });
  }
}

/** A task just submitted (or submitted again: `ResubmitResult`): the handle and the API's answer. */
export class SubmittedTask<Answer extends SubmitResult = SubmitResult> extends TaskHandle {
  constructor(
    http: HttpClient,
    readonly submission: Answer,
    /** The Idempotency-Key it was sent with: submitting again with it returns this task. */
    readonly idempotencyKey: string,
  ) {
    super(http, submission.id);
  }
}
