/**
 * Checks a task's parameters against its executer's params schema: every error at once, defaults
 * filled in, no type coercion. The schema is compiled once per manifest. Also home of the ajv
 * set-up and of the wording of ajv errors as field issues, which manifests share.
 */
import { Ajv, type ErrorObject, type SchemaObject } from 'ajv';
import addFormats from 'ajv-formats';
import { ValidationError, type FieldIssue } from '../errors.js';
import { nulArgumentPointers } from './build-argv.js';

/** A fresh ajv: all errors, defaults applied, no type coercion, unknown keywords rejected. */
export function createAjv(): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    coerceTypes: false,
    strictSchema: true,
    strictTypes: false,
    strictTuples: false,
    allowUnionTypes: true,
    logger: false,
  });
  addFormats.default(ajv);
  return ajv;
}

/** `root` plus a JSON pointer as a readable path: `params`, `/a/0/b` → `params.a[0].b`. */
function fieldPath(root: string, pointer: string): string {
  let out = root;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === '' ? '(root)' : out;
}

function reasonOf(e: ErrorObject, noun: string): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return `unknown ${noun} ${JSON.stringify(p['additionalProperty'])}`;
    case 'enum':
      return `must be one of ${(p['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(p['allowedValue'])}`;
    default: {
      const message = e.message ?? `fails "${e.keyword}"`;
      return e.propertyName === undefined ? message : `name ${JSON.stringify(e.propertyName)} ${message}`;
    }
  }
}

/**
 * Ajv errors as field issues under `root`; `noun` names an unexpected property ("field",
 * "parameter"). The branch errors of an anyOf/oneOf at one field are folded into one "a or b" reason.
 */
export function toFieldIssues(
  errors: readonly ErrorObject[] | null | undefined,
  root: string,
  noun = 'field',
): FieldIssue[] {
  const all = errors ?? [];
  const isUmbrella = (e: ErrorObject): boolean => e.keyword === 'anyOf' || e.keyword === 'oneOf';
  // Ajv reports an anyOf's branch errors just before it (their schemaPath may be a $ref target).
  const branchesOf = (e: ErrorObject): ErrorObject[] =>
    isUmbrella(e)
      ? all.slice(0, all.indexOf(e)).filter((b) => b.instancePath === e.instancePath && !isUmbrella(b))
      : [];
  const folded = new Set(all.flatMap(branchesOf));
  const issues = new Map<string, FieldIssue>();
  for (const e of all) {
    if (folded.has(e) || e.keyword === 'propertyNames') continue; // propertyNames: its inner error names the key
    const branches = branchesOf(e);
    const reason =
      branches.length > 0
        ? [...new Set(branches.map((b) => reasonOf(b, noun)))].join(' or ')
        : reasonOf(e, noun);
    const missing = e.keyword === 'required' ? String(e.params['missingProperty']) : undefined;
    const pointer =
      missing === undefined
        ? e.instancePath
        : `${e.instancePath}/${missing.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    const field = fieldPath(root, pointer);
    issues.set(`${field}\0${reason}`, { field, reason });
  }
  return [...issues.values()];
}

/**
 * Returns the task's parameters with defaults applied, or throws ValidationError('invalid task').
 * The caller's object is left as it was (defaults go into a copy), unless `owned`: parameters
 * the caller has just parsed and gives away are checked and completed in place, without the copy.
 */
export type ParamsValidator = (params: unknown, options?: { owned?: boolean }) => Record<string, unknown>;

const compiled = new WeakMap<SchemaObject, ParamsValidator>();
const NUL_REASON = 'contains a NUL character, which a command argument cannot carry';

/**
 * A validator for the manifest's params schema. Absent parameters (`undefined`) count as `{}`.
 * Besides the schema, a parameter that would put a NUL character into the command's argv is
 * refused (nulArgumentPointers): the process could never be started with it.
 */
export function validateParams(manifest: { readonly params: SchemaObject }): ParamsValidator {
  const cached = compiled.get(manifest.params);
  if (cached !== undefined) return cached;
  const check = createAjv().compile<Record<string, unknown>>(manifest.params);
  const validator: ParamsValidator = (params, options) => {
    let value: unknown;
    try {
      value = params === undefined ? {} : options?.owned ? params : structuredClone(params);
    } catch {
      throw new ValidationError('invalid task', [{ field: 'params', reason: 'must be plain JSON data' }]);
    }
    const issues = check(value) ? [] : toFieldIssues(check.errors, 'params', 'parameter');
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const pointer of nulArgumentPointers(value as Record<string, unknown>)) {
        issues.push({ field: fieldPath('params', pointer), reason: NUL_REASON });
      }
    }
    if (issues.length > 0) throw new ValidationError('invalid task', issues);
    return value as Record<string, unknown>;
  };
  compiled.set(manifest.params, validator);
  return validator;
}
