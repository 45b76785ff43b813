/**
 * A multipart submission: the first part is the field `spec` (the task spec as JSON), then any
 * number of file parts named `input`, each streamed straight to the artifact store at
 * `<tenant>/<task>/inputs/<filename>` (never held whole in memory). A file's name is its path in
 * the task's inputs folder (`case/geometry.txt`); names that escape it are refused. Archives
 * (.tar, .tar.gz, .tgz) are extracted by the tracker unless the spec lists them with
 * `extract: false`. The spec is checked before the first byte of a file is stored.
 */
import type { MultipartFile, MultipartValue } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { checkInputName, inputsPrefix, InfraError, type TaskInput, type TaskSpec } from '@gpufleet/core';
import type { ApiContext } from '../app-context.js';
import { ApiError } from '../errors.js';
import { checkSpec } from '../tasks/submit-task.js';
import { UploadBudget } from './upload-budget.js';

export const SPEC_FIELD = 'spec';
export const INPUT_FIELD = 'input';

export interface ReceivedSubmission {
  spec: TaskSpec;
  /** The inputs as stored: the spec's entries, and `{name}` for each file it did not list. */
  inputs: TaskInput[];
  /** Bytes stored. */
  bytes: number;
}

const invalid = (message: string): ApiError => new ApiError('INVALID_UPLOAD', message);

function specFrom(part: MultipartValue): unknown {
  if (typeof part.value !== 'string') return part.value; // sent as application/json: already parsed
  try {
    return JSON.parse(part.value) as unknown;
  } catch (error) {
    throw new ApiError('INVALID_JSON', `the "${SPEC_FIELD}" field is not JSON: ${(error as Error).message}`);
  }
}

/**
 * Reads the parts and stores the files under task `id`. On failure the caller removes what was
 * stored (`<tenant>/<id>`).
 */
export async function receiveSubmission(
  ctx: ApiContext,
  request: FastifyRequest,
  tenant: string,
  id: string,
): Promise<ReceivedSubmission> {
  const budget = new UploadBudget(ctx.limits.maxUploadBytes);
  const parts = request.parts({
    preservePath: true,
    limits: {
      fileSize: ctx.limits.maxUploadBytes,
      files: ctx.limits.maxInputs,
      fields: 1,
      fieldSize: ctx.limits.maxJsonBytes,
      parts: ctx.limits.maxInputs + 1,
    },
  });
  let spec: TaskSpec | null = null;
  const stored: string[] = [];
  for await (const part of parts) {
    if (part.type === 'field') {
      if (part.fieldname !== SPEC_FIELD || spec !== null) {
        throw invalid(
          `unexpected field "${part.fieldname}": send one "${SPEC_FIELD}" field, then "${INPUT_FIELD}" files`,
        );
      }
      const header = request.headers['idempotency-key'];
      spec = await checkSpec(ctx, specFrom(part), {
        tenant,
        idempotencyKey: typeof header === 'string' ? header : undefined,
      });
      continue;
    }
    if (spec === null) throw invalid(`the "${SPEC_FIELD}" field must come before the first file`);
    await storeFile(ctx, part, tenant, id, stored, budget);
  }
  if (spec === null) throw invalid(`the "${SPEC_FIELD}" field is missing`);
  return { spec, inputs: mergeInputs(spec, stored), bytes: budget.used };
}

async function storeFile(
  ctx: ApiContext,
  part: MultipartFile,
  tenant: string,
  id: string,
  stored: string[],
  budget: UploadBudget,
): Promise<void> {
  if (part.fieldname !== INPUT_FIELD) {
    part.file.resume();
    throw invalid(`unexpected file field "${part.fieldname}": files go in "${INPUT_FIELD}" parts`);
  }
  const name = part.filename;
  try {
    checkInputName(name);
  } catch (error) {
    part.file.resume();
    throw error;
  }
  if (stored.includes(name)) {
    part.file.resume();
    throw invalid(`the input "${name}" was sent twice`);
  }
  try {
    await ctx.store.put(`${inputsPrefix(tenant, id)}/${name}`, part.file.pipe(budget.meter()));
  } catch (error) {
    if (budget.exceeded || part.file.truncated) throw budget.tooLarge();
    if (error instanceof InfraError && error.cause instanceof ApiError) throw error.cause;
    throw error;
  }
  if (part.file.truncated) throw budget.tooLarge();
  stored.push(name);
}

function mergeInputs(spec: TaskSpec, stored: readonly string[]): TaskInput[] {
  const listed = spec.inputs ?? [];
  const missing = listed.filter((input) => !stored.includes(input.name)).map((input) => input.name);
  if (missing.length > 0) {
    throw invalid(`the spec lists inputs that were not uploaded: ${missing.join(', ')}`);
  }
  const names = new Set(listed.map((input) => input.name));
  return [...listed, ...stored.filter((name) => !names.has(name)).map((name) => ({ name }))];
}
