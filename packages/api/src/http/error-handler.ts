/**
 * Every failure becomes `{ error: { code, message, details } }` with a stable code (errors.ts):
 * the API's own errors, core's (validation, unknown executer, idempotency conflict, quota, path escape),
 * Fastify's (bad JSON, body too large, wrong media type, schema validation) and outages (Redis,
 * the artifact store). Unexpected errors answer INTERNAL without their message.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  GpufleetError,
  IdempotencyConflictError,
  InfraError,
  isRedisUnavailable,
  NotFoundError,
  PathEscapeError,
  pointerToField,
  QuotaExceededError,
  ValidationError,
} from '@gpufleet/core';
import { ApiError, errorBody, redisUnavailable, type ErrorCode } from '../errors.js';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_REQ_FILE_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_PARTS_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_FILES_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_FIELDS_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_INVALID_JSON_FIELD_ERROR: 'INVALID_UPLOAD',
  FST_PROTO_VIOLATION: 'INVALID_UPLOAD',
};

/** Core's validation codes that answer as their own API code (the rest: VALIDATION_FAILED). */
const VALIDATION_CODES: Record<string, ErrorCode> = {
  UNKNOWN_EXECUTER: 'UNKNOWN_EXECUTER',
  PATH_ESCAPE: 'INVALID_PATH', // a spec's input names: details.issues names each field
};

interface SchemaError {
  message?: string;
  instancePath?: string;
}

function schemaIssues(error: FastifyError): Array<{ field: string; reason: string }> {
  const where = error.validationContext === 'querystring' ? 'query' : (error.validationContext ?? '');
  return ((error.validation ?? []) as SchemaError[]).map((e) => ({
    field: pointerToField(e.instancePath ?? '', where),
    reason: (e.message ?? 'is invalid').toLowerCase(),
  }));
}

/** The ApiError an error answers as. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ValidationError) {
    const code = VALIDATION_CODES[error.code] ?? 'VALIDATION_FAILED';
    return new ApiError(code, error.message, { details: { issues: error.issues } });
  }
  if (error instanceof IdempotencyConflictError) {
    return new ApiError('IDEMPOTENCY_CONFLICT', error.message, { details: { taskId: error.taskId } });
  }
  if (error instanceof QuotaExceededError) {
    const { limit, waiting, tenant, queue } = error;
    return new ApiError('QUOTA_EXCEEDED', error.message, { details: { limit, waiting, tenant, queue } });
  }
  if (error instanceof PathEscapeError)
    return new ApiError('INVALID_PATH', error.message, { details: { path: error.path } });
  if (error instanceof NotFoundError) return new ApiError('NOT_FOUND', error.message);
  if (isRedisUnavailable(error)) return redisUnavailable(error);
  if (error instanceof InfraError && error.code.startsWith('ARTIFACT_')) {
    return new ApiError('ARTIFACT_STORE_UNAVAILABLE', 'the artifact store failed; try again later', {
      cause: error,
    });
  }
  const fastify = error as Partial<FastifyError>;
  if (!(error instanceof GpufleetError) && typeof fastify.code === 'string') {
    if (fastify.code === 'FST_ERR_VALIDATION') {
      const issues = schemaIssues(error as FastifyError);
      return new ApiError(
        'VALIDATION_FAILED',
        `invalid request: ${issues.map((i) => `${i.field}: ${i.reason}`).join('; ')}`,
        {
          details: { issues },
        },
      );
    }
    const code = FASTIFY_CODES[fastify.code];
    if (code) return new ApiError(code, fastify.message ?? code);
  }
  if (error instanceof SyntaxError && fastify.statusCode === 400)
    return new ApiError('INVALID_JSON', error.message);
  const status = fastify.statusCode ?? 500;
  if (status === 404) return new ApiError('NOT_FOUND', fastify.message ?? 'not found');
  if (status === 413) return new ApiError('PAYLOAD_TOO_LARGE', fastify.message ?? 'too large');
  if (status === 415)
    return new ApiError('UNSUPPORTED_MEDIA_TYPE', fastify.message ?? 'unsupported media type');
  if (status >= 400 && status < 500) {
    return new ApiError('VALIDATION_FAILED', fastify.message ?? 'bad request', { details: { issues: [] } });
  }
  return new ApiError('INTERNAL', 'an unexpected error happened; the request id in the logs says more', {
    cause: error,
  });
}

export async function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): Promise<void> {
  const apiError = toApiError(error);
  const log = request.log;
  if (apiError.status >= 500) {
    const level = apiError.code === 'INTERNAL' ? 'error' : 'warn';
    log[level]({ err: error, code: apiError.code }, 'request failed');
  } else log.info({ code: apiError.code, reason: apiError.message }, 'request refused');
  if (reply.sent || reply.raw.headersSent) return;
  await reply
    .code(apiError.status)
    .headers(apiError.headers)
    .send(errorBody(apiError.code, apiError.message, apiError.details));
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new ApiError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
}
