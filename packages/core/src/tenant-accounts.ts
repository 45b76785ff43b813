/**
 * The tenant accounts of a queue (keys.ts `schedulingKeys`, the first three): per tenant, its tasks waiting
 * (status `queued`), its tasks running (status `running`) and the GPUs those hold. The Lua scripts
 * keep them in their one status write (lua/lib-common.lua `writeStatus`), in the step that changes
 * the status, so they cannot drift from the task hashes; enqueue.lua checks the waiting count
 * against a tenant's quota. Read here for the API's queue view, and recounted from task hashes
 * (`recountTenantAccounts`, `snapshotTenantAccounts`) to check that they agree.
 */
import type { Redis } from 'ioredis';
import { type QueueKeys } from './keys.js';

/** The three tenant account hashes (waiting, running, GPUs). */
function accountKeys(keys: QueueKeys): [string, string, string] {
  return [keys.tenantWaiting, keys.tenantRunning, keys.tenantGpus];
}

export interface TenantAccount {
  /** Tasks with status `queued` (waiting for a tracker, or for a retry's backoff to end). */
  waiting: number;
  /** Tasks with status `running` (not `uploading`: their GPUs are free by then). */
  runningTasks: number;
  /** GPUs held by the running tasks (a 0-GPU task holds none). */
  runningGpus: number;
}

/** Tenant → account; only tenants with a count above 0, in name order. */
export type TenantAccounts = Record<string, TenantAccount>;

/** The tenant a task hash without `tenant` counts for (enqueue's default; lib-common.lua's too). */
const DEFAULT_TENANT = 'default';

function accountsFrom(
  waiting: Record<string, string>,
  running: Record<string, string>,
  gpus: Record<string, string>,
): TenantAccounts {
  const tenants = [...new Set([...Object.keys(waiting), ...Object.keys(running), ...Object.keys(gpus)])];
  const out: TenantAccounts = {};
  for (const tenant of tenants.sort()) {
    out[tenant] = {
      waiting: Number(waiting[tenant] ?? 0),
      runningTasks: Number(running[tenant] ?? 0),
      runningGpus: Number(gpus[tenant] ?? 0),
    };
  }
  return out;
}

/** The queue's tenant accounts as Redis holds them (three HGETALLs, sent together). */
export async function readTenantAccounts(redis: Redis, keys: QueueKeys): Promise<TenantAccounts> {
  const [waiting, running, gpus] = await Promise.all(accountKeys(keys).map((key) => redis.hgetall(key)));
  return accountsFrom(waiting ?? {}, running ?? {}, gpus ?? {});
}

/** What a task hash needs for the recount (`TaskRecord` has it). */
export interface AccountedTask {
  tenant?: string | null;
  status: string | null;
  gpus?: number | null;
}

/** The accounts the given tasks make: what the stored accounts must equal for all of a queue's tasks. */
export function recountTenantAccounts(tasks: Iterable<AccountedTask | null>): TenantAccounts {
  const waiting: Record<string, string> = {};
  const running: Record<string, string> = {};
  const gpus: Record<string, string> = {};
  const add = (to: Record<string, string>, tenant: string, by: number): void => {
    if (by !== 0) to[tenant] = String(Number(to[tenant] ?? 0) + by);
  };
  for (const task of tasks) {
    if (!task) continue;
    const tenant = task.tenant || DEFAULT_TENANT;
    if (task.status === 'queued') add(waiting, tenant, 1);
    if (task.status === 'running') {
      add(running, tenant, 1);
      add(gpus, tenant, task.gpus ?? 0);
    }
  }
  return accountsFrom(waiting, running, gpus);
}

/**
 * The stored accounts and the recount of the tasks `ids`, read in one MULTI (so at one instant,
 * whatever the trackers do meanwhile). They are equal when `ids` are all the queue's tasks.
 */
export async function snapshotTenantAccounts(
  redis: Redis,
  keys: QueueKeys,
  ids: readonly string[],
): Promise<{ stored: TenantAccounts; recounted: TenantAccounts }> {
  const multi = redis.multi();
  for (const key of accountKeys(keys)) multi.hgetall(key);
  for (const id of ids) multi.hmget(keys.task(id), 'tenant', 'status', 'gpus');
  const replies = (await multi.exec()) ?? [];
  const failed = replies.find(([error]) => error);
  if (failed?.[0]) throw failed[0];
  const values = replies.map(([, value]) => value);
  const [waiting, running, gpus] = values.slice(0, 3) as Array<Record<string, string>>;
  const tasks = (values.slice(3) as Array<Array<string | null>>).map(([tenant, status, n]) =>
    status ? { tenant, status, gpus: Number(n ?? 0) } : null,
  );
  return {
    stored: accountsFrom(waiting ?? {}, running ?? {}, gpus ?? {}),
    recounted: recountTenantAccounts(tasks),
  };
}
