/**
 * The listing's filters on a task's labels (GET /v1/tasks `name` and `tag`): read from the query
 * once, refused with VALIDATION_FAILED naming the field when malformed, then matched against each
 * task record the listing examines.
 */
import { tagKeyProblem, type TaskRecord } from '@gpufleet/core';
import { ApiError } from '../errors.js';

export interface LabelFilter {
  /** The exact name, or a prefix of it when the query's `name` ended in `*`. */
  name: { text: string; prefix: boolean } | null;
  /** All must match: a key with its value, or a key alone (`value` null: the task has the key). */
  tags: ReadonlyArray<{ key: string; value: string | null }>;
}

function invalid(field: string, reason: string): ApiError {
  return new ApiError('VALIDATION_FAILED', `invalid request: ${field}: ${reason}`, {
    details: { issues: [{ field, reason }] },
  });
}

/** `name=sweep-*` is a prefix; each `tag` is `key=value` or `key`. Null when nothing filters. */
export function parseLabelFilter(
  name: string | undefined,
  tags: readonly string[] | undefined,
): LabelFilter | null {
  if (name === undefined && (tags === undefined || tags.length === 0)) return null;
  const parsed = (tags ?? []).map((text, i) => {
    const eq = text.indexOf('=');
    const key = eq < 0 ? text : text.slice(0, eq);
    const problem = tagKeyProblem(key);
    if (problem !== null) throw invalid(`query.tag[${i}]`, `"${key}": ${problem}`);
    return { key, value: eq < 0 ? null : text.slice(eq + 1) };
  });
  const prefix = name?.endsWith('*') ?? false;
  return {
    name: name === undefined ? null : { text: prefix ? name.slice(0, -1) : name, prefix },
    tags: parsed,
  };
}

export function matchesLabels(record: Pick<TaskRecord, 'name' | 'tags'>, filter: LabelFilter): boolean {
  if (filter.name !== null) {
    const { text, prefix } = filter.name;
    if (record.name === null || !(prefix ? record.name.startsWith(text) : record.name === text)) return false;
  }
  for (const { key, value } of filter.tags) {
    if (!Object.hasOwn(record.tags, key)) return false;
    if (value !== null && record.tags[key] !== value) return false;
  }
  return true;
}
