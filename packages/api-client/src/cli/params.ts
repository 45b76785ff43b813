/**
 * Task parameters from the command line. `--param k=v` takes its type from the executer's
 * parameter schema (`steps=200` is the integer 200 for an integer parameter, `name=200` the
 * string "200" for a string one; arrays and objects are JSON); a key the schema does not name is
 * read as JSON when it parses, else as a string. `--sweep k=v1,v2` gives several values, and the
 * sweeps give the cross product. `--tag k=v` gives a task's tags (strings, as written).
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';

type Schema = Record<string, unknown>;

export function splitAssignment(text: string, flag: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`${flag} wants KEY=VALUE (got "${text}")`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** `--tag k=v` (repeatable) → `{k: 'v'}`; no `=`, an empty key or a key given twice is a usage error. */
export function parseTags(texts: readonly string[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const text of texts) {
    const [key, value] = splitAssignment(text, '--tag');
    if (Object.hasOwn(tags, key)) throw new UsageError(`--tag ${key} is given twice`);
    tags[key] = value;
  }
  return tags;
}

function typesOf(schema: Schema | undefined): string[] {
  if (!schema) return [];
  if (Array.isArray(schema.type)) return schema.type as string[];
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.enum))
    return [...new Set(schema.enum.map((v) => (typeof v === 'number' ? 'number' : typeof v)))];
  return [];
}

function asJson(key: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`parameter ${key}: "${text}" is not JSON`);
  }
}

/** The value of one parameter, typed after its schema (the executer's `properties[key]`). */
export function coerceParam(key: string, text: string, schema: Schema | undefined): unknown {
  const types = typesOf(schema);
  if (types.length === 0) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  if (types.includes('string')) return text;
  if (types.includes('integer') || types.includes('number')) {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value))
      throw new UsageError(`parameter ${key}: "${text}" is not a number`);
    return value;
  }
  if (types.includes('boolean')) {
    if (text === 'true' || text === 'false') return text === 'true';
    throw new UsageError(`parameter ${key}: "${text}" is not true or false`);
  }
  return asJson(key, text);
}

export function paramSchemas(executerParams: Record<string, unknown> | undefined): Record<string, Schema> {
  const properties = executerParams?.properties;
  return properties && typeof properties === 'object' ? (properties as Record<string, Schema>) : {};
}

export async function readParamsFile(path: string): Promise<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (error) {
    throw new UsageError(`--params-file ${path}: ${(error as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`--params-file ${path}: must hold a JSON object of parameters`);
  }
  return value as Record<string, unknown>;
}

export function parseParams(
  assignments: readonly string[],
  schemas: Record<string, Schema>,
): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const text of assignments) {
    const [key, value] = splitAssignment(text, '--param');
    params[key] = coerceParam(key, value, schemas[key]);
  }
  return params;
}

/** Every combination of the sweeps' values, in order (the last sweep varies fastest). */
export function sweepCombinations(
  sweeps: readonly string[],
  schemas: Record<string, Schema>,
): Array<Record<string, unknown>> {
  let combos: Array<Record<string, unknown>> = [{}];
  const seen = new Set<string>();
  for (const text of sweeps) {
    const [key, list] = splitAssignment(text, '--sweep');
    if (seen.has(key)) throw new UsageError(`--sweep ${key} is given twice`);
    seen.add(key);
    const values = list.split(',').map((v) => coerceParam(key, v, schemas[key]));
    combos = combos.flatMap((combo) => values.map((value) => ({ ...combo, [key]: value })));
  }
  return combos;
}
