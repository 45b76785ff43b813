/**
 * Schemas shared by the routes: the error body, the task id parameter, nullable scalars.
 * Nullables are written as `type: [T, 'null']` (valid JSON Schema and OpenAPI 3.1) rather than
 * `anyOf`, which fast-json-stringify serializes slowly.
 */
import type { Readable } from 'node:stream';
import { Type, type Static, type TSchema, type TUnsafe } from '@fastify/type-provider-typebox';
import {
  TASK_FAILURE_CODES,
  TASK_ID_PATTERN,
  TASK_STATUSES,
  type TaskFailureCode,
  type TaskStatus,
} from '@gpufleet/core';

export function Nullable<T extends TSchema>(schema: T): TUnsafe<Static<T> | null> {
  const type = (schema as { type?: unknown }).type;
  if (typeof type !== 'string') throw new Error('Nullable() needs a schema with a single type');
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [type, 'null'] });
}

export const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601, UTC' });

export const TaskStatusSchema = Type.Unsafe<TaskStatus>({
  type: 'string',
  enum: [...TASK_STATUSES],
  description: 'queued → running → uploading → succeeded | failed | timed_out | cancelled | dead',
});

/** A task's failure code, or null (written out: Nullable() would leave null out of the enum). */
export const TaskFailureCodeSchema = Type.Unsafe<TaskFailureCode | null>({
  type: ['string', 'null'],
  enum: [...TASK_FAILURE_CODES, null],
  description:
    'why the task ended without succeeding, a stable code (docs/task-failures.md); null while it has not ended (except GPU_ERROR on a task requeued after a GPU fault) or when it succeeded',
});

export const ErrorBodySchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'stable code, listed in docs/api.md' }),
      message: Type.String(),
      details: Type.Record(Type.String(), Type.Unknown()),
    }),
  },
  { description: 'every answer that is not a success' },
);

/** The error answers every route may give. */
export const errorResponses = {
  '4xx': ErrorBodySchema,
  '5xx': ErrorBodySchema,
};

export const TaskIdParams = Type.Object({
  id: Type.String({ description: 'task id (26 characters)', examples: ['01jd3xk4m7n8p9q0r1s2t3v4w5'] }),
});

export const TASK_ID = new RegExp(TASK_ID_PATTERN);

export function isoTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** A streamed body (files, zips, logs, SSE): a string in the OpenAPI document, a stream in code. */
export function StreamBody(
  options: { format?: 'binary'; description?: string } = {},
): TUnsafe<Readable | string> {
  return Type.Unsafe<Readable | string>({ type: 'string', ...options });
}
