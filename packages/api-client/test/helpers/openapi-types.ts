/**
 * Generates the client's TypeScript types (`src/generated/api-types.ts`) from the API's own
 * OpenAPI document, built by `buildApp()` from the route schemas (no Redis is contacted), and
 * from core's FINAL_STATUSES, TASK_FAILURE_CODES and priority range and the API's WAIT_REASONS. So the client never holds a hand-written copy of a schema, nor
 * depends on core at run time (it ships without it): a changed route schema changes the generated
 * file, and `api-types.test.ts` fails until it is regenerated
 * (`npx vitest run packages/api-client/test/api-types.test.ts -u`).
 */
import { Redis } from 'ioredis';
import { format, resolveConfig } from 'prettier';
import {
  FINAL_STATUSES,
  TASK_STATUSES,
  LocalArtifactStore,
  PRIORITY_MAX,
  PRIORITY_MIN,
  silentLogger,
  TASK_FAILURE_CODES,
} from '@gpufleet/core';
import { ApiKeyring, buildApp, ERROR_CODES, WAIT_REASONS } from '@gpufleet/api';

type Schema = Record<string, unknown>;
interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
}
interface Operation {
  requestBody?: { content?: Record<string, { schema: Schema }> };
  parameters?: Array<{ in: string; name: string; required?: boolean; description?: string; schema: Schema }>;
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}

/** The API's OpenAPI document, as GET /openapi.json serves it. */
export async function loadOpenApiDocument(): Promise<OpenApiDocument> {
  const redis = new Redis({ lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  const app = await buildApp({
    redis,
    connectBlocking: () => redis,
    store: new LocalArtifactStore('/nonexistent/gpufleet-openapi'),
    logger: silentLogger(),
    keyring: ApiKeyring.fromSecrets([]),
    followTaskMetrics: false,
  });
  try {
    await app.ready();
    return JSON.parse(JSON.stringify(app.swagger())) as OpenApiDocument;
  } finally {
    await app.close();
    redis.disconnect();
  }
}

/** Canonical JSON: keys sorted, descriptions and examples left out (they do not change a type). */
function shapeKey(schema: unknown): string {
  return JSON.stringify(schema, (key, value: unknown) => {
    if (key === 'description' || key === 'examples' || key === 'example') return undefined;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value as Schema).sort(([a], [b]) => a.localeCompare(b)));
    }
    return value;
  });
}

class TypeWriter {
  readonly #named = new Map<string, string>();
  readonly #out: string[] = [];

  /** Schemas that are emitted by name where they occur (earlier types). */
  name(schema: unknown, name: string): void {
    this.#named.set(shapeKey(schema), name);
  }

  declare(name: string, schema: Schema, doc: string): void {
    this.#out.push(`/** ${doc} */\nexport type ${name} = ${this.#type(schema, true)};\n`);
    this.name(schema, name);
  }

  /** `name` as `base & {…}`: the properties it shares with `baseSchema` are written once, there. */
  declareExtending(name: string, schema: Schema, base: string, baseSchema: Schema, doc: string): void {
    const shared = (baseSchema.properties ?? {}) as Record<string, Schema>;
    const own = Object.entries((schema.properties ?? {}) as Record<string, Schema>).filter(
      ([key, value]) => !(key in shared) || shapeKey(shared[key]) !== shapeKey(value),
    );
    const rest = { ...schema, properties: Object.fromEntries(own) };
    this.#out.push(`/** ${doc} */\nexport type ${name} = ${base} & ${this.#type(rest, true)};\n`);
    this.name(schema, name);
  }

  raw(text: string): void {
    this.#out.push(text);
  }

  text(): string {
    return this.#out.join('\n');
  }

  #type(schema: Schema, root = false): string {
    const named = root ? undefined : this.#named.get(shapeKey(schema));
    if (named) return named;
    if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
    if ('const' in schema) return JSON.stringify(schema.const);
    const alternatives = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
    if (alternatives) return [...new Set(alternatives.map((s) => this.#type(s)))].join(' | ');
    if (Array.isArray(schema.type)) {
      return (schema.type as string[]).map((type) => this.#type({ ...schema, type })).join(' | ');
    }
    switch (schema.type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'null':
        return 'null';
      case 'array': {
        const item = this.#type((schema.items ?? {}) as Schema);
        return /^[A-Za-z]+$/.test(item) ? `${item}[]` : `Array<${item}>`;
      }
      case 'object':
        return this.#object(schema);
      default:
        return 'unknown';
    }
  }

  #object(schema: Schema): string {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const patterns = Object.values((schema.patternProperties ?? {}) as Record<string, Schema>);
    // A record (TypeBox writes one as a single pattern property): its values' type.
    const extra = patterns.length === 1 ? patterns[0] : schema.additionalProperties;
    if (Object.keys(properties).length === 0) {
      return extra && typeof extra === 'object' && Object.keys(extra).length > 0
        ? `Record<string, ${this.#type(extra as Schema)}>`
        : 'Record<string, unknown>';
    }
    const required = new Set((schema.required ?? []) as string[]);
    const lines = Object.entries(properties).map(([key, value]) => {
      const doc = typeof value.description === 'string' ? `/** ${value.description} */\n` : '';
      const name = /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
      return `${doc}${name}${required.has(key) ? '' : '?'}: ${this.#type(value)};`;
    });
    // Without descriptions, written on one line: Prettier keeps it there when it fits.
    const described = lines.some((line) => line.startsWith('/**'));
    return described ? `{\n${lines.join('\n')}\n}` : `{ ${lines.join(' ')} }`;
  }
}

function jsonResponse(doc: OpenApiDocument, method: string, path: string, status: string): Schema {
  const schema = doc.paths[path]?.[method]?.responses[status]?.content?.['application/json']?.schema;
  if (!schema) throw new Error(`the OpenAPI document has no JSON ${status} answer for ${method} ${path}`);
  return schema;
}

function jsonRequest(doc: OpenApiDocument, method: string, path: string): Schema {
  const schema = doc.paths[path]?.[method]?.requestBody?.content?.['application/json']?.schema;
  if (!schema) throw new Error(`the OpenAPI document has no JSON body for ${method} ${path}`);
  return schema;
}

function at(schema: Schema, ...path: string[]): Schema {
  let node: unknown = schema;
  for (const step of path) node = (node as Schema | undefined)?.[step];
  if (!node || typeof node !== 'object') throw new Error(`no schema at ${path.join('.')}`);
  return node as Schema;
}

function queryOf(doc: OpenApiDocument, method: string, path: string): Schema {
  const params = (doc.paths[path]?.[method]?.parameters ?? []).filter((p) => p.in === 'query');
  return {
    type: 'object',
    properties: Object.fromEntries(
      params.map((p) => [p.name, { ...p.schema, description: p.description ?? p.schema.description }]),
    ),
    required: params.filter((p) => p.required).map((p) => p.name),
  };
}

const HEADER = `/**
 * The API's request and response types, generated from its OpenAPI document (the route schemas
 * of @gpufleet/api), core's TASK_STATUSES, FINAL_STATUSES, TASK_FAILURE_CODES and priority range and the API's
 * WAIT_REASONS by test/helpers/openapi-types.ts. Do not edit: run
 * \`npx vitest run packages/api-client/test/api-types.test.ts -u\` after an API change.
 */
`;

/** The generated module's source, formatted with the repository's Prettier settings. */
export async function renderApiTypes(doc: OpenApiDocument, file: string): Promise<string> {
  const w = new TypeWriter();
  w.raw(HEADER);
  const spec = jsonRequest(doc, 'post', '/v1/tasks');
  const view = jsonResponse(doc, 'get', '/v1/tasks/{id}', '200');
  w.declare(
    'TaskStatus',
    at(view, 'properties', 'status'),
    'A task’s status: queued → running → uploading → succeeded | failed | timed_out | cancelled | dead.',
  );
  w.raw(
    `/** Every status, in the order a task goes through them. */\nexport const TASK_STATUSES: readonly TaskStatus[] = ${JSON.stringify(TASK_STATUSES)};\n`,
  );
  w.raw(
    `/** Statuses a task never leaves. */\nexport const FINAL_STATUSES: readonly TaskStatus[] = ${JSON.stringify(FINAL_STATUSES)};\n`,
  );
  const codes = Object.keys(ERROR_CODES);
  w.raw(
    `/** The API's error codes (docs/api.md). */\nexport const API_ERROR_CODES = ${JSON.stringify(codes)} as const;\n`,
  );
  w.raw(`export type ApiErrorCode = (typeof API_ERROR_CODES)[number];\n`);
  w.raw(
    `/** Why a task ended without succeeding: its \`errorCode\` (docs/task-failures.md). */\nexport const TASK_FAILURE_CODES = ${JSON.stringify(TASK_FAILURE_CODES)} as const;\n`,
  );
  w.raw(`export type TaskFailureCode = (typeof TASK_FAILURE_CODES)[number];\n`);
  w.name(at(view, 'properties', 'errorCode'), 'TaskFailureCode | null');
  w.raw(
    `/** Why a queued task waits: its \`waitReason\` (docs/api.md). */\nexport const WAIT_REASONS = ${JSON.stringify(WAIT_REASONS)} as const;\n`,
  );
  w.raw(`export type WaitReason = (typeof WAIT_REASONS)[number];\n`);
  w.raw(
    `/** A task's \`priority\`: a whole number from PRIORITY_MIN to PRIORITY_MAX, higher starts first. */\n` +
      `export const PRIORITY_MIN = ${PRIORITY_MIN};\nexport const PRIORITY_MAX = ${PRIORITY_MAX};\n`,
  );
  w.name(at(view, 'properties', 'waitReason'), 'WaitReason | null');
  w.declare('TaskInput', at(spec, 'properties', 'inputs', 'items'), 'One input file of a task.');
  w.declare('TaskSpec', spec, 'POST /v1/tasks: what a task runs (the task spec).');

  const list = jsonResponse(doc, 'get', '/v1/tasks', '200');
  const manifest = jsonResponse(doc, 'get', '/v1/tasks/{id}/outputs', '200');
  const executers = jsonResponse(doc, 'get', '/v1/executers', '200');
  const queues = jsonResponse(doc, 'get', '/v1/queues', '200');
  const trackers = jsonResponse(doc, 'get', '/v1/trackers', '200');
  const gc = jsonResponse(doc, 'post', '/v1/admin/gc', '200');
  w.declare(
    'ErrorBody',
    jsonResponse(doc, 'get', '/v1/tasks/{id}', '4XX'),
    'Every answer that is not a success.',
  );
  const submitted = jsonResponse(doc, 'post', '/v1/tasks', '201');
  w.declare('SubmitResult', submitted, 'POST /v1/tasks (201 created, 200 replayed).');
  w.declareExtending(
    'ResubmitResult',
    jsonResponse(doc, 'post', '/v1/tasks/{id}/resubmit', '201'),
    'SubmitResult',
    submitted,
    'POST /v1/tasks/:id/resubmit: the new task, and the task it submitted again.',
  );
  w.declare('TaskSummary', at(list, 'properties', 'items', 'items'), 'One task in GET /v1/tasks.');
  w.declare('TaskList', list, 'GET /v1/tasks: a page of tasks, newest first.');
  w.declare('ListTasksQuery', queryOf(doc, 'get', '/v1/tasks'), 'The query of GET /v1/tasks.');
  w.declare('OutputSummary', { ...at(view, 'properties', 'outputs'), type: 'object' }, 'A task’s outputs.');
  const summary = at(list, 'properties', 'items', 'items');
  w.declareExtending('TaskView', view, 'TaskSummary', summary, 'GET /v1/tasks/:id: one task.');
  w.declare('OutputFile', at(manifest, 'properties', 'files', 'items'), 'One output file.');
  w.declare('OutputManifest', manifest, 'GET /v1/tasks/:id/outputs.');
  w.declare(
    'CancelResult',
    jsonResponse(doc, 'post', '/v1/tasks/{id}/cancel', '200'),
    'POST /v1/tasks/:id/cancel.',
  );
  w.declare(
    'PriorityChange',
    jsonResponse(doc, 'put', '/v1/tasks/{id}/priority', '200'),
    'PUT /v1/tasks/:id/priority: a waiting task’s new and previous priority.',
  );
  w.declare(
    'ExecuterOffer',
    at(executers, 'properties', 'executers', 'items'),
    'An executer a queue offers.',
  );
  w.declare('ExecuterList', executers, 'GET /v1/executers.');
  w.declare('QueueView', at(queues, 'properties', 'queues', 'items'), 'One queue.');
  w.declare('QueueList', queues, 'GET /v1/queues.');
  const history = jsonResponse(doc, 'get', '/v1/queues/{queue}/history', '200');
  w.declare(
    'QueueHistoryMinute',
    at(history, 'properties', 'minutes', 'items'),
    'One minute of a queue’s history.',
  );
  w.declare(
    'QueueHistory',
    history,
    'GET /v1/queues/:queue/history: the queue’s last hour, minute by minute.',
  );
  w.declare('TrackerView', at(trackers, 'properties', 'trackers', 'items'), 'One tracker.');
  w.declare('TrackerList', trackers, 'GET /v1/trackers (user keys: other tenants’ tasks unnamed).');
  const drain = jsonResponse(doc, 'post', '/v1/trackers/{name}/drain', '200');
  w.declare(
    'DrainRequest',
    jsonRequest(doc, 'post', '/v1/trackers/{name}/drain'),
    'POST /v1/trackers/:name/drain: the whole tracker, or one GPU (`gpu`).',
  );
  w.declare(
    'DrainState',
    drain,
    'POST /v1/trackers/:name/drain and /undrain (admin keys only): the tracker’s drains as stored.',
  );
  w.declare('GcQueueResult', at(gc, 'properties', 'queues', 'items'), 'One queue of a retention sweep.');
  w.declare('GcResult', gc, 'POST /v1/admin/gc (admin keys only): the retention sweep run by hand.');
  w.declare('Me', jsonResponse(doc, 'get', '/v1/me', '200'), 'GET /v1/me: the key’s tenant, role and name.');
  const links = '/v1/tasks/{id}/download-links';
  w.declare(
    'DownloadLinkRequest',
    jsonRequest(doc, 'post', links),
    'POST …/download-links: a file or the zip.',
  );
  w.declare(
    'DownloadLink',
    jsonResponse(doc, 'post', links, '201'),
    'A link that needs no key until expiresAt.',
  );
  w.declare('HealthStatus', jsonResponse(doc, 'get', '/healthz', '200'), 'GET /healthz and GET /readyz.');
  const config = (await resolveConfig(file)) ?? {};
  return format(w.text(), { ...config, parser: 'typescript' });
}
