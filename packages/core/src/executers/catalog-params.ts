/**
 * Parameter validators for catalog entries. Catalog entries are read from Redis afresh on each
 * enqueue, so validators are cached by the schema's JSON text rather than by object identity.
 */
import type { CatalogEntry } from '../executer-catalog.js';
import type { ExecuterManifest } from './executer-manifest.js';
import { validateParams, type ParamsValidator } from './task-params.js';

const MAX_CACHED = 256;
const bySchemaText = new Map<string, ParamsValidator>();

export function paramsValidatorFor(entry: Pick<CatalogEntry, 'params'>): ParamsValidator {
  const text = JSON.stringify(entry.params);
  let validator = bySchemaText.get(text);
  if (!validator) {
    validator = validateParams({ params: entry.params as ExecuterManifest['params'] });
    if (bySchemaText.size >= MAX_CACHED) bySchemaText.delete(bySchemaText.keys().next().value as string);
    bySchemaText.set(text, validator);
  }
  return validator;
}
