/**
 * Parameter validators for catalog entries. Catalog entries are read from Redis afresh now and
 * then (see catalogFor), so validators are cached by the schema's JSON text, and by the entry's
 * identity in front of that: the same entry, read once and reused, is not serialized again on
 * every enqueue.
 */
import type { CatalogEntry } from '../executer-catalog.js';
import type { ExecuterManifest } from './executer-manifest.js';
import { validateParams, type ParamsValidator } from './task-params.js';

const MAX_CACHED = 256;
const bySchemaText = new Map<string, ParamsValidator>();
const byEntry = new WeakMap<object, ParamsValidator>();

export function paramsValidatorFor(entry: Pick<CatalogEntry, 'params'>): ParamsValidator {
  const known = byEntry.get(entry);
  if (known) return known;
  const text = JSON.stringify(entry.params);
  let validator = bySchemaText.get(text);
  if (!validator) {
    validator = validateParams({ params: entry.params as ExecuterManifest['params'] });
    if (bySchemaText.size >= MAX_CACHED) bySchemaText.delete(bySchemaText.keys().next().value as string);
    bySchemaText.set(text, validator);
  }
  byEntry.set(entry, validator);
  return validator;
}
