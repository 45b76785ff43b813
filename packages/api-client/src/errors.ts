/**
 * The client's errors, each with a stable string `code`. An answer of the API that is not a
 * success is an `ApiRequestError` carrying the API's own code (docs/api.md); an API that cannot be
 * reached within the retry budget is an `ApiUnreachableError`. The rest are the client's own:
 * configuration, inputs, downloads, Node-only features and the command line's usage errors.
 */
import type { TaskFailureCode, TaskStatus } from './generated/api-types.js';

/** One problem with one field, as the API's `details.issues` and the config checks report it. */
export interface FieldIssue {
  field: string;
  reason: string;
}

export class GpufleetClientError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The API answered with an error: `code` is the API's (`NOT_FOUND`, `VALIDATION_FAILED`...). */
export class ApiRequestError extends GpufleetClientError {
  readonly status: number;
  readonly details: Record<string, unknown>;
  /** The `X-Request-Id` of the answer: the API's logs carry the same id. */
  readonly requestId: string | null;
  constructor(
    code: string,
    message: string,
    options: { status: number; details?: Record<string, unknown>; requestId?: string | null },
  ) {
    super(code, message);
    this.status = options.status;
    this.details = options.details ?? {};
    this.requestId = options.requestId ?? null;
  }

  /** `details.issues` of a validation error: every bad field. */
  get issues(): FieldIssue[] {
    const issues = this.details.issues;
    return Array.isArray(issues) ? (issues as FieldIssue[]) : [];
  }
}

/** No answer from the API (refused, reset, no route) while the retry budget lasted. */
export class ApiUnreachableError extends GpufleetClientError {
  readonly url: string;
  constructor(url: string, cause: unknown) {
    const why = describeConnectionError(cause);
    super('API_UNREACHABLE', `the gpufleet API at ${url} cannot be reached (${why})`, { cause });
    this.url = url;
  }
}

/** An event stream (events, logs) ended with an `error` event it cannot resume from. */
export class StreamError extends GpufleetClientError {}

/** A config file or profile is malformed; every problem is listed. */
export class ConfigFileError extends GpufleetClientError {
  readonly file: string;
  readonly issues: FieldIssue[];
  constructor(file: string, issues: FieldIssue[]) {
    super(
      'CONFIG_INVALID',
      `invalid gpufleet config ${file}: ${issues.map((i) => `${i.field}: ${i.reason}`).join('; ')}`,
    );
    this.file = file;
    this.issues = issues;
  }
}

/** No API URL is known: no flag, environment variable, profile or running local fleet. */
export class NoApiConfiguredError extends GpufleetClientError {
  constructor(message: string) {
    super('NO_API_CONFIGURED', message);
  }
}

/** An input path is missing, unreadable, or two inputs would have the same name. */
export class InputError extends GpufleetClientError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INPUT_INVALID', message, options);
  }
}

/** A downloaded file does not match the manifest's size or sha256, or its path would escape. */
export class DownloadError extends GpufleetClientError {}

/** `wait()` gave up before the task ended (`waitForEndpoints()`: before its service was ready). */
export class WaitTimeoutError extends GpufleetClientError {
  readonly taskId: string;
  readonly timeoutMs: number;
  constructor(taskId: string, timeoutMs: number, message?: string) {
    super('WAIT_TIMEOUT', message ?? `task ${taskId} did not end within ${timeoutMs} ms`);
    this.taskId = taskId;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * `waitForEndpoints()`: the task reached a final status before its service was ready (it failed to
 * start, was cancelled, or its executer runs no service): which status, and why.
 */
export class TaskEndedError extends GpufleetClientError {
  readonly taskId: string;
  readonly status: TaskStatus;
  /** The task's error, as its record says; null when none. */
  readonly error: string | null;
  /** Why it did not succeed, as a stable code (docs/task-failures.md); null when unknown or none. */
  readonly errorCode: TaskFailureCode | null;
  readonly exitCode: number | null;
  constructor(
    taskId: string,
    end: {
      status: TaskStatus;
      error: string | null;
      errorCode?: TaskFailureCode | null;
      exitCode?: number | null;
    },
  ) {
    const code = end.errorCode ? ` (${end.errorCode})` : '';
    const why = end.error ? `: ${end.error}${code}` : code;
    super('TASK_ENDED', `task ${taskId} ended ${end.status} before its service was ready${why}`);
    this.taskId = taskId;
    this.status = end.status;
    this.error = end.error;
    this.errorCode = end.errorCode ?? null;
    this.exitCode = end.exitCode ?? null;
  }
}

/**
 * A part of the client that needs Node's file system (`submit` with `inputs`, `task.download()`)
 * was used where there is none, such as in a browser.
 */
export class NodeOnlyError extends GpufleetClientError {
  constructor(what: string, cause?: unknown) {
    super('NODE_ONLY', `${what} needs Node (it reads or writes local files)`, { cause });
  }
}

/** The command line was used wrongly (an unknown flag, a bad value). */
export class UsageError extends GpufleetClientError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

function describeConnectionError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}
