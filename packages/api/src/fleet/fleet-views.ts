/**
 * The fleet as the API shows it: per queue, what its live trackers offer (executers with their
 * parameter schemas), how its tasks stand (depth, running, dead, oldest wait, and per tenant the
 * tasks waiting and running, the GPUs those hold and its fair share: weight, quota, usage, rank).
 * The trackers, with their GPUs and the tasks on them, are tracker-views.ts.
 */
import type { Redis } from 'ioredis';
import {
  isLive,
  listTrackers,
  queueKeys,
  readCatalog,
  readFairShare,
  readQueueStats,
  readTenantAccounts,
  shareOf,
  type QueueStats,
  type ServiceSpec,
  type TenantAccount,
  type TenantAccounts,
  type TenantShare,
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
  /** Its manifest's `service` block (core service-manifest.ts); null for a batch executer. */
  service: ServiceSpec | null;
}

/** A tenant in a queue: its accounts and its fair share as the queue's trackers apply it. */
export interface TenantView extends TenantAccount {
  weight: number;
  /** null: no limit. */
  maxRunningGpus: number | null;
  /** GPU-hours, decayed by the half-life, to 3 decimals. */
  usageGpuHours: number;
  /** 1 = its tasks go first among waiting tasks of equal priority; equal usage per weight share a place. */
  fairShareRank: number;
}

export interface QueueView {
  queue: string;
  depth: number;
  running: number;
  dead: number;
  oldestWaitingAgeMs: number | null;
  liveTrackers: number;
  waitingByGpus: Record<string, number>;
  /** Tenant → its tasks waiting and running in the queue, the GPUs those hold, its fair share. */
  tenants: Record<string, TenantView>;
}

const MS_PER_HOUR = 3_600_000;

/**
 * Each tenant of `accounts` with its fair share: weight and quota as `enqueue()` last wrote them for
 * the queue, its usage and its place in the fair-share order among every tenant the queue knows
 * (`shares`: those with settings, usage or GPUs; a tenant it does not know has no usage).
 */
export function tenantViews(
  accounts: TenantAccounts,
  shares: ReadonlyMap<string, TenantShare>,
): Record<string, TenantView> {
  const ranks = [...shares.values()].map((s) => s.rank);
  const views: Record<string, TenantView> = {};
  for (const [tenant, account] of Object.entries(accounts)) {
    const share = shareOf(shares, tenant);
    views[tenant] = {
      ...account,
      weight: share.weight,
      maxRunningGpus: share.maxRunningGpus,
      usageGpuHours: Math.round((share.usageGpuMs / MS_PER_HOUR) * 1000) / 1000,
      fairShareRank: 1 + ranks.filter((rank) => rank < share.rank).length,
    };
  }
  return views;
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
      service: entry.service ?? null,
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
  const [stats, trackers, accounts, shares]: [
    QueueStats,
    TrackerInfo[],
    TenantAccounts,
    Map<string, TenantShare>,
  ] = await Promise.all([
    readQueueStats(redis, keys),
    listTrackers(redis, keys),
    readTenantAccounts(redis, keys),
    readFairShare(redis, keys, now),
  ]);
  const own = tenant === null ? null : (accounts[tenant] ?? { waiting: 0, runningTasks: 0, runningGpus: 0 });
  return {
    queue,
    depth: stats.waiting,
    running: stats.running,
    dead: stats.dead,
    oldestWaitingAgeMs: stats.oldestWaitingAt === null ? null : Math.max(0, now - stats.oldestWaitingAt),
    liveTrackers: trackers.filter((t) => isLive(t, now)).length,
    waitingByGpus: stats.waitingByGpus,
    tenants: tenantViews(tenant === null || own === null ? accounts : { [tenant]: own }, shares),
  };
}
