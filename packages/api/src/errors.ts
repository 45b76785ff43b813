/**
 * The API's error codes: each answer that is not a success carries
 * `{ error: { code, message, details } }` with one of these stable codes and its HTTP status.
 * `docs/api.md` lists every code (a test fails when one is missing there).
 */
import { GpufleetError } from '@gpufleet/core';

export const ERROR_CODES = {
  UNAUTHORIZED: {
    status: 401,
    meaning: 'no API key was given (Authorization: Bearer ...), or it is not known',
  },
  FORBIDDEN: {
    status: 403,
    meaning: 'the API key is known but its role may not use this route, or name this tenant (query.tenant)',
  },
  NOT_FOUND: { status: 404, meaning: 'no such route, or no such task for this tenant' },
  VALIDATION_FAILED: { status: 400, meaning: 'the request has bad fields; details.issues names each' },
  INVALID_JSON: { status: 400, meaning: 'the body is not valid JSON' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    meaning: 'the body is neither application/json nor multipart/form-data',
  },
  INVALID_UPLOAD: {
    status: 400,
    meaning: 'a multipart submission is malformed (missing spec, input given twice...)',
  },
  INVALID_PATH: {
    status: 400,
    meaning: 'a path escapes its folder (.., absolute, encoded, backslash, empty segment)',
  },
  INVALID_CURSOR: {
    status: 400,
    meaning: 'the paging cursor or Last-Event-ID is not one this API handed out',
  },
  UNKNOWN_EXECUTER: { status: 400, meaning: 'no tracker of the queue has published this executer' },
  NO_CAPACITY: {
    status: 422,
    meaning:
      'no live tracker of the queue can run the task (executer, GPU count, GPU model or memory); details.issues names each shortfall; waitForCapacity queues it anyway',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    meaning: 'the body is larger than the limit (GPUFLEET_API_MAX_UPLOAD_BYTES)',
  },
  IDEMPOTENCY_CONFLICT: { status: 409, meaning: 'the Idempotency-Key was used before with another body' },
  QUOTA_EXCEEDED: {
    status: 429,
    meaning: 'the tenant has as many tasks waiting in the queue as its limit (maxWaitingTasks) allows',
  },
  TASK_FINISHED: { status: 409, meaning: 'the task already ended, so it cannot be cancelled' },
  TASK_NOT_WAITING: {
    status: 409,
    meaning: 'the task is no longer queued (it runs or ended), so its priority cannot change',
  },
  INPUTS_GONE: {
    status: 409,
    meaning: 'an input file of the task is no longer in the artifact store, so it cannot be submitted again',
  },
  OUTPUTS_NOT_READY: { status: 409, meaning: 'the task has not ended yet, so it has no outputs' },
  NO_OUTPUTS: { status: 404, meaning: 'the task ended without outputs (it never ran, or its upload failed)' },
  OUTPUTS_EXPIRED: {
    status: 410,
    meaning: 'the outputs retention (GPUFLEET_OUTPUTS_RETENTION) deleted the task’s outputs',
  },
  OUTPUT_NOT_FOUND: { status: 404, meaning: 'the task has no output file with this path' },
  RANGE_NOT_SATISFIABLE: { status: 416, meaning: 'the Range header asks for bytes past the end of the file' },
  REDIS_UNAVAILABLE: { status: 503, meaning: 'Redis does not answer; retry after Retry-After seconds' },
  ARTIFACT_STORE_UNAVAILABLE: { status: 503, meaning: 'the artifact store failed; retry later' },
  INTERNAL: { status: 500, meaning: 'an unexpected error; the request id in the logs says more' },
  CLIENT_TOO_SLOW: {
    status: 200,
    meaning: 'only as an SSE `error` event: the client read slower than events came and was cut off',
  },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error the API answers with its code's status and `details`. */
export class ApiError extends GpufleetError {
  declare readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown>;
  /** Extra response headers (Retry-After, WWW-Authenticate, Content-Range). */
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(code, message, { cause: options.cause });
    this.status = ERROR_CODES[code].status;
    this.details = options.details ?? {};
    this.headers = options.headers ?? {};
  }
}

/** The one 404 every task route answers for a task that is missing or another tenant's. */
export function taskNotFound(): ApiError {
  return new ApiError('NOT_FOUND', 'no such task');
}

export function redisUnavailable(cause?: unknown): ApiError {
  return new ApiError('REDIS_UNAVAILABLE', 'Redis is not reachable; try again shortly', {
    headers: { 'retry-after': '1' },
    cause,
  });
}

/** The body of every error answer. */
export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

export function errorBody(code: string, message: string, details: Record<string, unknown> = {}): ErrorBody {
  return { error: { code, message, details } };
}
