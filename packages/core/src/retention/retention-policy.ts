/**
 * How long a finished task stays in Redis before the retention sweep archives it and removes it
 * (retention-sweep.ts): per final status, with per-tenant overrides. Read by the trackers, one of
 * which sweeps at a time (the lease holder's policy applies: give the trackers of a queue the same).
 *
 * Defaults: succeeded and cancelled tasks 3 days (long enough to outlast a weekend of polling
 * clients and `gpufleet status`, short enough that a fleet of 10,000 tasks a day holds about
 * 30,000 records, ~100 MB at 3.3 kB each), failed, timed-out and dead tasks 14 days (a failure is
 * looked into later than a success is collected). Nothing is lost after that: the archive keeps
 * every record, readable by id.
 *
 * Syntax (GPUFLEET_RETENTION): comma-separated `status=duration` or a bare `duration` for every
 * final status, e.g. `3d` or `succeeded=1d,failed=30d`. GPUFLEET_TENANT_RETENTION: comma-separated
 * `tenant=duration`, `tenant:status=duration` or `tenant:max=count` (that tenant's own cap on its
 * finished tasks in Redis). Durations as parseDurationMs reads them (`90s`, `12h`, `3d`, a number
 * of ms). GPUFLEET_RETENTION_MAX_FINISHED: an optional cap on the finished tasks a queue keeps in
 * Redis, whatever their age (queue-wide; both caps hold when both are set).
 * GPUFLEET_OUTPUTS_RETENTION: an optional duration after which archived tasks' outputs are deleted
 * from the artifact store (off by default: outputs are kept).
 */
import { parseDurationMs, type EnvReader } from '../env-reader.js';
import { checkName } from '../keys.js';
import { FINAL_STATUSES, type TaskStatus } from '../task-status.js';

export type RetentionByStatus = Readonly<Partial<Record<TaskStatus, number>>>;

export interface RetentionPolicy {
  /** Milliseconds each final status stays in Redis after the task ended. */
  byStatus: RetentionByStatus;
  /** Per tenant, the statuses whose retention it overrides. */
  tenants: Readonly<Record<string, RetentionByStatus>>;
  /**
   * At most this many finished tasks of the queue stay in Redis (GPUFLEET_RETENTION_MAX_FINISHED);
   * beyond it the oldest-created finished tasks are archived before their retention ends. None
   * when absent: only the durations bound them.
   */
  maxFinished?: number;
  /**
   * Per tenant, at most this many of its finished tasks stay in Redis (`tenant:max=N` in
   * GPUFLEET_TENANT_RETENTION); beyond it its oldest-created are archived first.
   */
  tenantMax?: Readonly<Record<string, number>>;
  /**
   * How long a finished task's outputs stay in the artifact store after it ended
   * (GPUFLEET_OUTPUTS_RETENTION; outputs-retention.ts): deleted once the task is archived and
   * this has passed. None when absent: outputs are kept (the default).
   */
  outputsMs?: number;
}

const DAY_MS = 86_400_000;

export const DEFAULT_RETENTION: RetentionPolicy = {
  byStatus: {
    succeeded: 3 * DAY_MS,
    cancelled: 3 * DAY_MS,
    failed: 14 * DAY_MS,
    timed_out: 14 * DAY_MS,
    dead: 14 * DAY_MS,
  },
  tenants: {},
  tenantMax: {},
};

/** At most ten years: a longer retention is a typo, and it would overflow nothing but sense. */
const MAX_RETENTION_MS = 3650 * DAY_MS;

function duration(text: string): number | string {
  const ms = parseDurationMs(text);
  if (ms === null) return `"${text}" is not a duration (90s, 12h, 3d or a number of milliseconds)`;
  if (ms > MAX_RETENTION_MS) return `"${text}" is longer than ten years`;
  return ms;
}

/** `status=duration` or `duration` entries into statuses; a string is the reason they are refused. */
function parseStatuses(entries: Array<[status: string | null, value: string]>): RetentionByStatus | string {
  const out: Partial<Record<TaskStatus, number>> = {};
  for (const [status, value] of entries) {
    const ms = duration(value);
    if (typeof ms === 'string') return ms;
    if (status === null) for (const s of FINAL_STATUSES) out[s] = ms;
    else if ((FINAL_STATUSES as readonly string[]).includes(status)) out[status as TaskStatus] = ms;
    else return `"${status}" is not a final status (${FINAL_STATUSES.join(', ')})`;
  }
  return out;
}

/** GPUFLEET_RETENTION's value over the defaults; a string is why it is refused. */
export function parseRetention(raw: string): RetentionByStatus | string {
  const entries = raw.split(',').map((e) => e.trim());
  if (entries.some((e) => e === '')) return 'has an empty entry';
  const parsed = parseStatuses(
    entries.map((e) => {
      const eq = e.indexOf('=');
      return eq < 0 ? [null, e] : [e.slice(0, eq).trim(), e.slice(eq + 1).trim()];
    }),
  );
  return typeof parsed === 'string' ? parsed : { ...DEFAULT_RETENTION.byStatus, ...parsed };
}

export interface TenantRetention {
  tenants: Record<string, RetentionByStatus>;
  tenantMax: Record<string, number>;
}

/** GPUFLEET_TENANT_RETENTION's value; a string is why it is refused. */
export function parseTenantRetention(raw: string): TenantRetention | string {
  const out: TenantRetention = { tenants: {}, tenantMax: {} };
  for (const entry of raw.split(',').map((e) => e.trim())) {
    const match = /^([^:=]+)(?::([^=]+))?=(.+)$/.exec(entry);
    if (!match) return `"${entry}" is not tenant=duration, tenant:status=duration or tenant:max=count`;
    const tenant = (match[1] ?? '').trim();
    if (checkName(tenant)) return `"${tenant}" is not a tenant name: it ${checkName(tenant)}`;
    const [field, value] = [match[2]?.trim() ?? null, (match[3] ?? '').trim()];
    if (field === 'max') {
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < 1)
        return `"${tenant}:max=${value}": the maximum must be an integer >= 1`;
      out.tenantMax[tenant] = Number(value);
      continue;
    }
    const parsed = parseStatuses([[field, value]]);
    if (typeof parsed === 'string') return parsed;
    out.tenants[tenant] = { ...out.tenants[tenant], ...parsed };
  }
  return out;
}

/** How long a task of `tenant` that ended `status` stays in Redis; null for a status that is not final. */
export function retentionOf(policy: RetentionPolicy, tenant: string, status: TaskStatus): number | null {
  return policy.tenants[tenant]?.[status] ?? policy.byStatus[status] ?? null;
}

/** The shortest retention of the policy: no task that ended after now minus this is due. */
export function shortestRetention(policy: RetentionPolicy): number {
  const all = [policy.byStatus, ...Object.values(policy.tenants)].flatMap((s) => Object.values(s));
  return Math.min(...all.filter((ms): ms is number => typeof ms === 'number'));
}

/**
 * GPUFLEET_RETENTION and GPUFLEET_TENANT_RETENTION over the defaults; a bad value is recorded on
 * the reader naming the variable (the process refuses to start).
 */
export function readRetentionPolicy(r: EnvReader): RetentionPolicy {
  const raw = r.raw('GPUFLEET_RETENTION');
  const byStatus = raw === undefined ? DEFAULT_RETENTION.byStatus : parseRetention(raw);
  const tenantsRaw = r.raw('GPUFLEET_TENANT_RETENTION');
  const tenants =
    tenantsRaw === undefined ? { tenants: {}, tenantMax: {} } : parseTenantRetention(tenantsRaw);
  if (typeof byStatus === 'string') r.fail('GPUFLEET_RETENTION', byStatus);
  if (typeof tenants === 'string') r.fail('GPUFLEET_TENANT_RETENTION', tenants);
  const max = r.raw('GPUFLEET_RETENTION_MAX_FINISHED');
  const maxFinished = max === undefined ? undefined : r.int('GPUFLEET_RETENTION_MAX_FINISHED', 0, { min: 1 });
  const outputsRaw = r.raw('GPUFLEET_OUTPUTS_RETENTION');
  const outputsMs = outputsRaw === undefined ? undefined : duration(outputsRaw);
  if (typeof outputsMs === 'string') r.fail('GPUFLEET_OUTPUTS_RETENTION', outputsMs);
  return {
    byStatus: typeof byStatus === 'string' ? DEFAULT_RETENTION.byStatus : byStatus,
    tenants: typeof tenants === 'string' ? {} : tenants.tenants,
    tenantMax: typeof tenants === 'string' ? {} : tenants.tenantMax,
    ...(maxFinished === undefined ? {} : { maxFinished }),
    ...(typeof outputsMs === 'number' ? { outputsMs } : {}),
  };
}
