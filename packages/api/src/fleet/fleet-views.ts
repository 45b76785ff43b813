/**
 * The fleet as the API shows it: per queue, what its live trackers offer (executers with their
 * parameter schemas), how its tasks stand (depth, running, dead, oldest wait, and per tenant the
 * tasks waiting and running and the GPUs those hold) and, for admins, every registered tracker with
 * the task that holds each of its GPUs.
 */
import type { Redis } from 'ioredis';
import {
  isLive,
  listTrackers,
  queueKeys,
  readCatalog,
  readQueueStats,
  readTenantAccounts,
  type QueueStats,
  type TenantAccounts,
  type TrackerInfo,
} from '@gpufleet/core';

export interface ExecuterOffer {
  queue: string;
  name: string;
  version: string;
  description: string;
  params: Record<string, unknown>;
  gpus: number;
  timeLimitMs: number;
  trackers: string[];
}

export interface QueueView {
  queue: string;
  depth: number;
  running: number;
  dead: number;
  oldestWaitingAgeMs: number | null;
  liveTrackers: number;
  /** Tenant → its tasks waiting and running in the queue, and the GPUs those hold. */
  tenants: TenantAccounts;
}

export interface TrackerView {
  name: string;
  queue: string;
  host: string;
  live: boolean;
  lastHeartbeat: string;
  startedAt: string;
  gpus: Array<{ id: number; taskId: string | null }>;
  cpuSlots: number;
  cpuTasks: string[];
  executers: string[];
}

export async function executerOffers(
  redis: Redis,
  prefix: string,
  queue: string,
  now: number,
): Promise<ExecuterOffer[]> {
  const keys = queueKeys(prefix, queue);
  const [catalog, trackers] = await Promise.all([readCatalog(redis, keys), listTrackers(redis, keys)]);
  const live = trackers.filter((t) => isLive(t, now));
  const offers: ExecuterOffer[] = [];
  for (const entry of [...catalog.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const by = live.filter((t) => t.executers.includes(entry.name)).map((t) => t.name);
    if (by.length === 0) continue;
    offers.push({
      queue,
      name: entry.name,
      version: entry.version,
      description: entry.description,
      params: entry.params,
      gpus: entry.gpus,
      timeLimitMs: entry.timeLimitMs,
      trackers: by,
    });
  }
  return offers;
}

/**
 * One queue. `tenant`: the only tenant whose accounts are shown (always, zeros included): a user
 * key sees its own tenant's; null (an admin key) shows every tenant with tasks waiting or running.
 */
export async function queueView(
  redis: Redis,
  prefix: string,
  queue: string,
  now: number,
  tenant: string | null = null,
): Promise<QueueView> {
  const keys = queueKeys(prefix, queue);
  const [stats, trackers, accounts]: [QueueStats, TrackerInfo[], TenantAccounts] = await Promise.all([
    readQueueStats(redis, keys),
    listTrackers(redis, keys),
    readTenantAccounts(redis, keys),
  ]);
  const own = tenant === null ? null : (accounts[tenant] ?? { waiting: 0, runningTasks: 0, runningGpus: 0 });
  return {
    queue,
    depth: stats.waiting,
    running: stats.running,
    dead: stats.dead,
    oldestWaitingAgeMs: stats.oldestWaitingAt === null ? null : Math.max(0, now - stats.oldestWaitingAt),
    liveTrackers: trackers.filter((t) => isLive(t, now)).length,
    tenants: tenant === null || own === null ? accounts : { [tenant]: own },
  };
}

export function trackerView(queue: string, t: TrackerInfo, now: number): TrackerView {
  const holder = new Map<number, string>();
  const cpuTasks: string[] = [];
  for (const [taskId, gpuIds] of Object.entries(t.running ?? {})) {
    if (gpuIds.length === 0) cpuTasks.push(taskId);
    for (const gpu of gpuIds) holder.set(gpu, taskId);
  }
  return {
    name: t.name,
    queue,
    host: t.host,
    live: isLive(t, now),
    lastHeartbeat: new Date(t.heartbeatAt).toISOString(),
    startedAt: new Date(t.startedAt).toISOString(),
    gpus: t.gpus.map((id) => ({ id, taskId: holder.get(id) ?? null })),
    cpuSlots: t.cpuSlots,
    cpuTasks,
    executers: t.executers,
  };
}

export async function trackerViews(
  redis: Redis,
  prefix: string,
  queue: string,
  now: number,
): Promise<TrackerView[]> {
  return (await listTrackers(redis, queueKeys(prefix, queue))).map((t) => trackerView(queue, t, now));
}
