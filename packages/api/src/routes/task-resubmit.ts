/**
 * POST /v1/tasks/:id/resubmit: the task submitted again, as a new task of a new id with the spec it
 * was submitted with (tasks/resubmit-spec.ts), its inputs copied, under the original's tenant; the
 * old task stays as it is. Found as for reading it: a user key its own tenant's tasks (another's
 * is 404), an admin key any tenant's. The spec is checked as a submission's (unknown executer 400,
 * NO_CAPACITY 422) before anything is copied; the inputs are copied before the enqueue (one Lua
 * step, with the quota, 429), and removed again when no task comes of it. A task whose inputs are
 * gone from the artifact store is 409 INPUTS_GONE, with nothing written. `Idempotency-Key`: the same
 * key for the same task gives the same new task (200), as POST /v1/tasks does.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { newTaskId } from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { errorResponses, TaskIdParams } from '../schemas/common.js';
import { loadTask } from '../tasks/load-task.js';
import { resubmitSpec } from '../tasks/resubmit-spec.js';
import {
  IdempotencyHeadersSchema,
  submissionAnswer,
  SubmissionSchema,
  submitCounted,
} from '../tasks/submission-answer.js';
import { checkSpec } from '../tasks/submit-task.js';
import { copyInputs } from '../uploads/copy-inputs.js';
import { removeStoredInputs } from '../uploads/remove-inputs.js';

const ResubmittedSchema = Type.Object({
  ...SubmissionSchema.properties,
  resubmittedFrom: Type.String({ description: 'the task submitted again' }),
});

export const taskResubmitRoutes: FastifyPluginAsyncTypebox<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.post(
    '/tasks/:id/resubmit',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Submit a task again',
        description:
          'A new task with the spec and input files the task was submitted with, for the task’s tenant.',
        params: TaskIdParams,
        headers: IdempotencyHeadersSchema,
        response: { 201: ResubmittedSchema, 200: ResubmittedSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const found = await loadTask(ctx, request, request.params.id);
      const from = found.record.id;
      const tenant = found.record.tenant;
      const header = request.headers['idempotency-key'];
      const spec = { ...resubmitSpec(found.record), ...(header !== undefined && { idempotencyKey: header }) };
      await checkSpec(ctx, spec, { tenant, idempotencyKey: header });
      const id = newTaskId(ctx.now());
      const inputs = spec.inputs ?? [];
      try {
        if (inputs.length > 0) {
          const bytes = await copyInputs(ctx, { tenant, from, to: id, inputs });
          request.log.info({ taskId: id, from, inputs: inputs.length, bytes }, 'inputs copied');
        }
        const submitted = await submitCounted(ctx, spec, tenant, id, { resubmittedFrom: from });
        if (!submitted.result.created && inputs.length > 0)
          await removeStoredInputs(ctx, request, tenant, id);
        request.taskId = submitted.result.id;
        request.log.info({ taskId: submitted.result.id, from }, 'task submitted again');
        return reply
          .code(submitted.result.created ? 201 : 200)
          .send({ ...(await submissionAnswer(ctx, submitted, tenant)), resubmittedFrom: from });
      } catch (error) {
        if (inputs.length > 0) await removeStoredInputs(ctx, request, tenant, id);
        throw error;
      }
    },
  );
};
