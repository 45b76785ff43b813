/**
 * The `service` block of an executer manifest: an executer that declares one runs a long-lived
 * server (a simulation build a controller connects to) rather than a batch job that ends on its
 * own. It names the ports the tracker gives it (`{port.NAME}` in the command), how the tracker
 * knows it is ready (a TCP connect, an HTTP GET answering 2xx, or a line on stdout), and its
 * lifetime (start timeout, idle timeout, maximum age, restarts). How services share a GPU is the
 * task's GPU share (`gpuShareMiB`) and the tracker's GPUFLEET_MAX_SHARES_PER_GPU, not the manifest's.
 * Holds the block's TypeBox schema (part of the manifest's) and `checkService`, the checks a
 * schema cannot make: references to undeclared ports, duplicate names, a regex that will not
 * compile, a readiness block naming no check or several.
 *
 * @example
 * "service": {
 *   "ports": ["http", "control"],
 *   "ready": { "http": { "port": "http", "path": "/healthz" } },
 *   "idleTimeoutMs": 600000,
 *   "restart": { "count": 3, "backoffMs": 1000 }
 * }
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FieldIssue } from '../errors.js';

/** A port name: a lowercase identifier, as `{port.NAME}` spells it. */
export const PORT_NAME_PATTERN = '^[a-z][a-z0-9_]{0,31}$';
export const MAX_SERVICE_PORTS = 8;
/** How long a service may take to become ready when its manifest does not say. */
export const DEFAULT_START_TIMEOUT_MS = 60_000;
/** The longest duration a service field takes: the longest a Node timer can wait (about 24.8 days). */
export const MAX_SERVICE_DURATION_MS = 2_147_483_647;

const Duration = (description: string) =>
  Type.Integer({ minimum: 1, maximum: MAX_SERVICE_DURATION_MS, description });
const PortName = Type.String({ pattern: PORT_NAME_PATTERN });

/** How the tracker knows a service is ready: exactly one of these. */
export type ServiceReadyCheck =
  /** A TCP connection to the port is accepted. */
  | { tcp: string }
  /** `GET http://127.0.0.1:<port><path>` answers 2xx. */
  | { http: { port: string; path: string } }
  /** A line of the process's stdout matches this regular expression (`new RegExp(source)`, no flags). */
  | { stdout: string };

/** The readiness block as JSON: its three checks are optional here, and checkService wants exactly one. */
const ReadySchema = Type.Unsafe<ServiceReadyCheck>(
  Type.Object(
    {
      tcp: Type.Optional(PortName),
      http: Type.Optional(
        Type.Object(
          { port: PortName, path: Type.String({ minLength: 1, maxLength: 1024, default: '/' }) },
          { additionalProperties: false },
        ),
      ),
      stdout: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    },
    { additionalProperties: false },
  ),
);

export const ServiceSchema = Type.Object(
  {
    /** The ports the tracker allocates from GPUFLEET_PORT_RANGE, by name; unique. */
    ports: Type.Array(PortName, { minItems: 1, maxItems: MAX_SERVICE_PORTS }),
    ready: ReadySchema,
    startTimeoutMs: Type.Integer({
      minimum: 1,
      maximum: MAX_SERVICE_DURATION_MS,
      default: DEFAULT_START_TIMEOUT_MS,
      description: 'how long the service may take to become ready before it counts as failed to start',
    }),
    idleTimeoutMs: Type.Optional(Duration('the service is ended after this long with no client connection')),
    maxAgeMs: Type.Optional(Duration('the service is ended this long after it started')),
    restart: Type.Optional(
      Type.Object(
        {
          count: Type.Integer({ minimum: 0, maximum: 1000, default: 3 }),
          backoffMs: Type.Integer({ minimum: 0, maximum: MAX_SERVICE_DURATION_MS, default: 1000 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
/** A checked `service` block with its defaults filled in. */
export type ServiceSpec = Static<typeof ServiceSchema>;

/** The name of the port a readiness check connects to; undefined for a stdout check. */
export function readyPort(check: ServiceReadyCheck): string | undefined {
  if ('tcp' in check) return check.tcp;
  if ('http' in check) return check.http.port;
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The port names a (possibly malformed) service block declares: empty when there is no block,
 * undefined when its `ports` is too broken to say (the schema reports that).
 */
export function declaredPorts(service: unknown): Set<string> | undefined {
  if (service === undefined) return new Set();
  const ports = isRecord(service) ? service['ports'] : undefined;
  if (!Array.isArray(ports)) return undefined;
  return new Set(ports.filter((p): p is string => typeof p === 'string'));
}

function checkPortRef(field: string, name: unknown, ports: Set<string> | undefined): FieldIssue[] {
  if (typeof name !== 'string' || ports === undefined || ports.has(name)) return [];
  const declared = ports.size === 0 ? 'it declares none' : `it declares ${[...ports].join(', ')}`;
  return [{ field, reason: `names no port of service.ports (${JSON.stringify(name)}; ${declared})` }];
}

function checkPath(path: unknown): FieldIssue[] {
  if (typeof path !== 'string' || /^\/\S*$/.test(path)) return [];
  return [{ field: 'service.ready.http.path', reason: 'must start with / and hold no spaces' }];
}

function checkReady(ready: unknown, ports: Set<string> | undefined): FieldIssue[] {
  if (!isRecord(ready)) return [];
  const kinds = ['tcp', 'http', 'stdout'].filter((k) => ready[k] !== undefined);
  if (kinds.length !== 1) {
    const given = kinds.length === 0 ? 'it names none' : `it names ${kinds.join(' and ')}`;
    return [
      { field: 'service.ready', reason: `must name exactly one check: tcp, http or stdout (${given})` },
    ];
  }
  const http = ready['http'];
  if (isRecord(http))
    return [...checkPortRef('service.ready.http.port', http['port'], ports), ...checkPath(http['path'])];
  if (ready['tcp'] !== undefined) return checkPortRef('service.ready.tcp', ready['tcp'], ports);
  const source = ready['stdout'];
  if (typeof source !== 'string') return [];
  try {
    new RegExp(source);
    return [];
  } catch (err) {
    const reason = `is not a valid regular expression: ${(err as Error).message}`;
    return [{ field: 'service.ready.stdout', reason }];
  }
}

/**
 * The problems of a service block that its schema cannot see: a port named twice, readiness naming
 * an undeclared port, no check or several, a stdout pattern that does not compile. `service` is the
 * block as parsed (maybe malformed: what the schema reports is not reported again).
 */
export function checkService(service: unknown): FieldIssue[] {
  if (!isRecord(service)) return [];
  const issues: FieldIssue[] = [];
  const ports = service['ports'];
  if (Array.isArray(ports)) {
    ports.forEach((name: unknown, i) => {
      if (typeof name === 'string' && ports.indexOf(name) < i) {
        issues.push({ field: `service.ports[${i}]`, reason: `${JSON.stringify(name)} is named twice` });
      }
    });
  }
  issues.push(...checkReady(service['ready'], declaredPorts(service)));
  return issues;
}
