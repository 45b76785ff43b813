/**
 * Request validation with TypeBox. Bodies are checked as sent: no type coercion and no silent
 * removal of unknown fields (Fastify's default ajv set-up does both), and every bad field is
 * reported in core's `{field, reason}` form. Query strings, path parameters and headers are
 * converted first (`"20"` → 20, `"1"` → true), which is what a URL can carry.
 */
import type { FastifySchemaCompiler } from 'fastify';
import { TypeBoxValidatorCompiler, type TSchema } from '@fastify/type-provider-typebox';
import { schemaIssues, ValidationError } from '@gpufleet/core';

/** A body schema carrying this flag is read by its handler as a stream, not validated here. */
export const STREAMED_BODY = 'x-gpufleet-streamed';

export const validatorCompiler: FastifySchemaCompiler<TSchema> = (route) => {
  const { schema, httpPart } = route;
  if (httpPart !== 'body') return TypeBoxValidatorCompiler(route);
  if ((schema as Record<string, unknown>)[STREAMED_BODY] === true) return () => ({ value: undefined });
  return (value: unknown) => {
    const issues = schemaIssues(schema, value);
    return issues.length === 0 ? { value } : { error: new ValidationError('invalid request body', issues) };
  };
};
