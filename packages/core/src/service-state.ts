/**
 * A service task's live state (an executer with a `service` block, executers/service-manifest.ts)
 * as its task hash holds it while it runs, and its typed reading:
 *
 * - `serviceState`: `waiting-for-port` (the tracker's GPUFLEET_PORT_RANGE has none free:
 *   `serviceReason` says what holds it), `starting` (spawned, its readiness check not passed yet),
 *   `ready` (it passed: `endpoints` and `readyAt` are set) or `restarting` (it exited or failed its
 *   check, a restart is due: `serviceReason` says why).
 * - `endpoints`: JSON, port name → `host:port`, with the host its tracker advertises. Only while
 *   `ready`: written with the readiness, taken away with anything that stops the service.
 * - `serviceRestarts`: how many times this attempt restarted it (kept after the task ends).
 *
 * The live fields (`SERVICE_LIVE_FIELDS`) are emptied by every status change away from a started
 * attempt and by a new claim (lua/lib-common.lua `writeStatus`, lua/lib-claim.lua, as generated
 * Lua from the list below): a service's endpoints are never left behind by a tracker that died,
 * handed it back or ended it. Its changes are written by lua/set-service.lua, fenced by the
 * attempt's lease token, each with an event in the queue's events stream: the entry's `service`
 * field (`ready`, `restarting`, ...) beside its `status` (running), and `endpoints` for `ready`.
 */
export const SERVICE_STATES = ['waiting-for-port', 'starting', 'ready', 'restarting'] as const;
export type ServiceState = (typeof SERVICE_STATES)[number];

/** The hash fields that hold a running service's state: emptied whenever it stops. */
export const SERVICE_LIVE_FIELDS = ['serviceState', 'endpoints', 'readyAt', 'serviceReason'] as const;

/** Port name → `host:port`. */
export type ServiceEndpoints = Readonly<Record<string, string>>;

export interface ServiceStatus {
  state: ServiceState;
  /** Set only while `ready`. */
  endpoints: ServiceEndpoints | null;
  /** When it last became ready (ms); null while not ready. */
  readyAt: number | null;
  /** Restarts so far in this attempt. */
  restarts: number;
  /** Why it waits for a port or restarts; null otherwise. */
  reason: string | null;
}

export function isServiceState(value: string): value is ServiceState {
  return (SERVICE_STATES as readonly string[]).includes(value);
}

/** The service's state from its task hash; null when it runs no service now. */
export function parseServiceStatus(hash: Readonly<Record<string, string>>): ServiceStatus | null {
  const state = hash['serviceState'];
  if (!state || !isServiceState(state)) return null;
  const endpoints = hash['endpoints'] ? (JSON.parse(hash['endpoints']) as ServiceEndpoints) : null;
  const readyAt = hash['readyAt'] ? Number(hash['readyAt']) : null;
  return {
    state,
    endpoints: state === 'ready' ? endpoints : null,
    readyAt: state === 'ready' ? readyAt : null,
    restarts: Number(hash['serviceRestarts'] ?? 0) || 0,
    reason: hash['serviceReason'] || null,
  };
}

/** The live fields as Lua, for lib-common.lua (`-- @generated service-fields`). */
export function serviceFieldsLua(): string {
  return `local SERVICE_LIVE_FIELDS = { ${SERVICE_LIVE_FIELDS.map((f) => `'${f}'`).join(', ')} }`;
}
