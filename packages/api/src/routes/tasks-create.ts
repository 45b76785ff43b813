/**
 * POST /v1/tasks: a JSON task spec, or multipart (the spec, then input files streamed to the
 * artifact store). The task id is made first so inputs are stored under it; the enqueue is one
 * Lua step, and anything stored for a submission that does not become a task is removed again.
 * A body announced larger than the limit is refused (413) before it is read; Redis being down is
 * answered (503) before it is read too. `Idempotency-Key`: the same key and body give the same
 * task (200 instead of 201), the same key with another body is a 409.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { newTaskId, parseTaskSpec, TaskSpecSchema, type TaskSpec } from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { principalOf } from '../auth/auth-hook.js';
import { ApiError } from '../errors.js';
import { STREAMED_BODY } from '../http/validator.js';
import { assertRedisReady } from '../redis/assert-redis-ready.js';
import { errorResponses } from '../schemas/common.js';
import {
  IdempotencyHeadersSchema,
  submissionAnswer,
  SubmissionSchema,
  submitCounted,
} from '../tasks/submission-answer.js';
import { INPUT_FIELD, receiveSubmission, SPEC_FIELD } from '../uploads/multipart-inputs.js';
import { payloadTooLarge } from '../uploads/upload-budget.js';
import { removeStoredInputs } from '../uploads/remove-inputs.js';

const MultipartSchema = Type.Object(
  {
    [SPEC_FIELD]: Type.String({ description: 'the task spec as JSON; must be the first part' }),
    [INPUT_FIELD]: Type.Optional(
      Type.Array(Type.String({ format: 'binary' }), {
        description: 'input files; each file name is its path in the inputs folder (archives are extracted)',
      }),
    ),
  },
  { [STREAMED_BODY]: true },
);

function withIdempotencyKey(spec: TaskSpec, header: string | undefined): TaskSpec {
  if (header === undefined) return spec;
  if (spec.idempotencyKey !== undefined && spec.idempotencyKey !== header) {
    throw new ApiError(
      'VALIDATION_FAILED',
      'invalid task: idempotencyKey: differs from the Idempotency-Key header',
      {
        details: { issues: [{ field: 'idempotencyKey', reason: 'differs from the Idempotency-Key header' }] },
      },
    );
  }
  return { ...spec, idempotencyKey: header };
}

export const taskCreateRoutes: FastifyPluginAsyncTypebox<{ ctx: ApiContext }> = async (app, { ctx }) => {
  // Fastify reads text/plain by default; a submission is JSON or multipart, so anything else is
  // 415 UNSUPPORTED_MEDIA_TYPE (FST_ERR_CTP_INVALID_MEDIA_TYPE), not a spec that fails its schema.
  app.removeContentTypeParser('text/plain');
  const refuseEarly = async (request: FastifyRequest): Promise<void> => {
    const length = Number(request.headers['content-length'] ?? 0);
    if (length > ctx.limits.maxUploadBytes) throw payloadTooLarge(ctx.limits.maxUploadBytes);
    assertRedisReady(ctx.redis);
  };

  app.post(
    '/tasks',
    {
      onRequest: refuseEarly,
      bodyLimit: ctx.limits.maxJsonBytes,
      schema: {
        tags: ['tasks'],
        summary: 'Submit a task',
        description:
          'JSON: the task spec. Multipart: a `spec` field (JSON) first, then `input` files. ' +
          'Parameters are checked against the executer’s schema as its trackers published it.',
        headers: IdempotencyHeadersSchema,
        body: {
          content: {
            'application/json': { schema: TaskSpecSchema },
            'multipart/form-data': { schema: MultipartSchema },
          },
        },
        response: { 201: SubmissionSchema, 200: SubmissionSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const tenant = principalOf(request).tenant;
      const header = request.headers['idempotency-key'];
      const id = newTaskId(ctx.now());
      let spec: TaskSpec;
      let uploaded = false;
      try {
        if (request.isMultipart()) {
          uploaded = true;
          const received = await receiveSubmission(ctx, request, tenant, id);
          spec = { ...received.spec, inputs: received.inputs };
          request.log.info(
            { taskId: id, inputs: received.inputs.length, bytes: received.bytes },
            'inputs stored',
          );
        } else spec = parseTaskSpec(request.body); // the input names too, before anything is written
        const submitted = await submitCounted(ctx, withIdempotencyKey(spec, header), tenant, id);
        if (!submitted.result.created && uploaded) await removeStoredInputs(ctx, request, tenant, id);
        request.taskId = submitted.result.id;
        return reply
          .code(submitted.result.created ? 201 : 200)
          .send(await submissionAnswer(ctx, submitted, tenant));
      } catch (error) {
        if (uploaded) await removeStoredInputs(ctx, request, tenant, id);
        throw error;
      }
    },
  );
};
