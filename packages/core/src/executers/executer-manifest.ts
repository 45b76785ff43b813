/**
 * The executer manifest (`executer.json`): its TypeBox schema and `parseManifest`, which checks a
 * parsed JSON value, fills in the defaults and reports every problem at once, by field. The
 * optional `service` block (a long-running server with named ports) is in service-manifest.ts.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ManifestError, type FieldIssue } from '../errors.js';
import { GpuModelsSchema, GpuShareSchema, MinGpuMemorySchema } from '../task-spec.js';
import { CONTEXT_PLACEHOLDERS, parseTemplate } from './build-argv.js';
import { checkService, declaredPorts, ServiceSchema } from './service-manifest.js';
import { createAjv, toFieldIssues } from './task-params.js';

export const EXECUTER_NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,63}$';
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
/** A task's time limit when the manifest names none: 24 hours. */
export const DEFAULT_TIME_LIMIT_MS = 24 * 60 * 60 * 1000;

export const ExecuterManifestSchema = Type.Object(
  {
    name: Type.String({ pattern: EXECUTER_NAME_PATTERN }),
    version: Type.String({ minLength: 1, maxLength: 64 }),
    description: Type.Optional(Type.String()),
    command: Type.Array(Type.String(), { minItems: 1 }),
    /** A JSON Schema for the task's parameters; checked against ajv's meta-schema separately. */
    params: Type.Object(
      {
        type: Type.Literal('object'),
        properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      },
      {
        additionalProperties: true,
        default: { type: 'object', additionalProperties: false, properties: {} },
      },
    ),
    resources: Type.Object(
      {
        gpus: Type.Integer({ minimum: 0, maximum: 64, default: 0 }),
        timeLimitMs: Type.Integer({ minimum: 1000, default: DEFAULT_TIME_LIMIT_MS }),
        /** The GPU models and memory a task asks for when its spec does not say (gpu-request.ts). */
        gpuModels: Type.Optional(GpuModelsSchema),
        minGpuMemoryMiB: Type.Optional(MinGpuMemorySchema),
        /** A task of one GPU shares it by this much memory when its spec does not say. */
        gpuShareMiB: Type.Optional(GpuShareSchema),
      },
      { additionalProperties: false, default: {} },
    ),
    env: Type.Record(Type.String(), Type.String(), {
      propertyNames: { pattern: ENV_NAME_PATTERN },
      default: {},
    }),
    /** True for executers that run arbitrary user code: a tracker loads them only when enabled. */
    requiresOptIn: Type.Boolean({ default: false }),
    /** Present for a service: a long-running server with named ports (service-manifest.ts). */
    service: Type.Optional(ServiceSchema),
  },
  { additionalProperties: false },
);
/** A checked manifest with its defaults filled in. */
export type ExecuterManifest = Static<typeof ExecuterManifestSchema>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parameter names the params schema declares; undefined when the schema is too broken to say. */
function paramNames(params: unknown): Set<string> | undefined {
  if (params === undefined) return new Set();
  if (!isRecord(params)) return undefined;
  if (params['properties'] === undefined) return new Set();
  return isRecord(params['properties']) ? new Set(Object.keys(params['properties'])) : undefined;
}

const KNOWN = [...CONTEXT_PLACEHOLDERS.map((n) => `{${n}}`), '{param.NAME}', '{port.NAME}'].join(', ');

/** Why `{port.NAME}` names no declared port; null when it does. */
function portProblem(placeholder: string, service: unknown): string | null {
  const ports = declaredPorts(service);
  if (ports === undefined || ports.has(placeholder.slice('port.'.length))) return null;
  const declared =
    service === undefined
      ? 'the manifest declares no service'
      : ports.size === 0
        ? 'it declares none'
        : `it declares ${[...ports].join(', ')}`;
  return `{${placeholder}} is not a port of service.ports (${declared})`;
}

function checkCommand(command: unknown, params: unknown, service: unknown): FieldIssue[] {
  if (!Array.isArray(command)) return [];
  const names = paramNames(params);
  const issues: FieldIssue[] = [];
  command.forEach((element: unknown, i) => {
    if (typeof element !== 'string') return;
    const field = `command[${i}]`;
    if (i === 0 && element.trim() === '') issues.push({ field, reason: 'the program must not be empty' });
    for (const part of parseTemplate(element)) {
      if (part.kind !== 'placeholder') continue;
      if (part.name.startsWith('param.')) {
        const name = part.name.slice('param.'.length);
        if (names !== undefined && !names.has(name)) {
          const known = names.size === 0 ? 'it declares none' : `it declares ${[...names].join(', ')}`;
          issues.push({ field, reason: `{${part.name}} is not a property of params (${known})` });
        }
      } else if (part.name.startsWith('port.')) {
        const reason = portProblem(part.name, service);
        if (reason !== null) issues.push({ field, reason });
      } else if (!(CONTEXT_PLACEHOLDERS as readonly string[]).includes(part.name)) {
        issues.push({
          field,
          reason: `unknown placeholder {${part.name}} (known: ${KNOWN}; write {{ and }} for literal braces)`,
        });
      }
    }
  });
  return issues;
}

function checkParamsSchema(params: unknown): FieldIssue[] {
  if (!isRecord(params)) return [];
  const ajv = createAjv();
  if (ajv.validateSchema(params) !== true) return toFieldIssues(ajv.errors, 'params');
  try {
    ajv.compile(params);
    return [];
  } catch (err) {
    return [{ field: 'params', reason: `is not a usable JSON Schema: ${(err as Error).message}` }];
  }
}

const checkManifest = createAjv().compile<ExecuterManifest>(ExecuterManifestSchema);

/** Checks a parsed `executer.json` and fills in its defaults; throws one ManifestError listing every problem. */
export function parseManifest(json: unknown, file: string): ExecuterManifest {
  const value: unknown = structuredClone(json);
  const issues = checkManifest(value) ? [] : toFieldIssues(checkManifest.errors, '');
  if (isRecord(value)) {
    issues.push(
      ...checkCommand(value['command'], value['params'], value['service']),
      ...checkParamsSchema(value['params']),
      ...checkService(value['service']),
    );
  }
  if (issues.length > 0) throw new ManifestError(file, issues);
  return value as ExecuterManifest;
}
