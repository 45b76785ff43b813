/**
 * Fair share between the tenants of a queue, as SLURM's fair-share with a half-life: a tenant's
 * usage is the GPU-milliseconds its running tasks held, each decayed by half every half-life; its
 * rank (`fairShareRank`) is that usage and its running GPUs over its weight, and between tasks of
 * equal priority the tenant of the lower rank goes first (scheduling-order.ts). A tenant alone on the queue takes everything; a tenant that just
 * arrived has no usage and goes first. The usage is kept by lua/lib-common.lua (accrueUsage, at
 * every change of a tenant's running GPUs) in `tenant-usage`, with the half-life beside it
 * (`HALF_LIFE_FIELD`: one read for both); weights and running-GPU quotas are in `tenant-settings`.
 * `enqueue()` writes the half-life and the tenant's settings from the API's configuration.
 */
import type { Redis } from 'ioredis';
import type { QueueKeys } from './keys.js';

/** The half-life when the API sets none; lua/lib-common.lua holds the same (test/scheduling-policy.test.ts). */
export const DEFAULT_HALF_LIFE_MS = 3_600_000;
/** The weight of a tenant that sets none. */
export const DEFAULT_WEIGHT = 1;
/**
 * The field of `tenant-usage` that holds the half-life (no tenant name starts with `~`);
 * lua/lib-common.lua holds the same (test/scheduling-policy.test.ts).
 */
export const HALF_LIFE_FIELD = '~halfLifeMs';

/** A tenant's settings as the scheduler reads them. */
export interface SchedulingSettings {
  weight: number;
  /** The most GPUs its running tasks may hold at once in the queue; null: no limit. */
  maxRunningGpus: number | null;
}

/** `tenant-settings`' value for a tenant: `<weight>,<max running GPUs or ''>`. */
export function settingsValue(s: SchedulingSettings): string {
  return `${s.weight},${s.maxRunningGpus ?? ''}`;
}

export function parseSettingsValue(value: string | undefined): SchedulingSettings {
  const [weight = '', max = ''] = (value ?? '').split(',');
  return {
    weight: Number(weight) > 0 ? Number(weight) : DEFAULT_WEIGHT,
    maxRunningGpus: max === '' ? null : Number(max),
  };
}

/**
 * The usage at `now` of a tenant whose stored usage is `stored` (`<usage>,<at>`, or undefined) and
 * who has held `gpus` GPUs since: the same formula as lib-common.lua `usageAt`.
 */
export function usageAt(stored: string | undefined, gpus: number, now: number, halfLifeMs: number): number {
  let usage = 0;
  let at = now;
  if (stored) {
    const [u = '0', t = String(now)] = stored.split(',');
    usage = Number(u);
    at = Number(t);
  }
  const d = 0.5 ** (Math.max(0, now - at) / halfLifeMs);
  return usage * d + (gpus * (1 - d) * halfLifeMs) / Math.LN2;
}

/**
 * A tenant's fair-share rank, lower first: its decayed usage plus what its running GPUs add if they
 * keep running (their steady usage, gpus × half-life / ln 2), over its weight. So GPUs just taken
 * count at once (a burst of takes alternates between tenants), and past usage counts with its
 * decay (a tenant that ran a lot lately waits behind one that did not, until that evens out).
 * The same as lua/lib-common.lua `fairShareRank`.
 */
export function fairShareRank(usageGpuMs: number, gpus: number, weight: number, halfLifeMs: number): number {
  return (usageGpuMs + (gpus * halfLifeMs) / Math.LN2) / weight;
}

/** One tenant's standing in a queue's fair share. */
export interface TenantShare extends SchedulingSettings {
  tenant: string;
  /** GPU-ms, decayed to now. */
  usageGpuMs: number;
  runningGpus: number;
  /** `fairShareRank`: lower goes first. */
  rank: number;
}

/** Every tenant's fair-share standing in a queue at `now` (tenants with settings, usage or GPUs). */
export async function readFairShare(
  redis: Redis,
  keys: QueueKeys,
  now: number,
): Promise<Map<string, TenantShare>> {
  const [usage, settings, gpus] = await Promise.all([
    redis.hgetall(keys.tenantUsage),
    redis.hgetall(keys.tenantSettings),
    redis.hgetall(keys.tenantGpus),
  ]);
  const halfLifeMs = Number(usage[HALF_LIFE_FIELD]) || DEFAULT_HALF_LIFE_MS;
  const tenants = new Set([...Object.keys(usage), ...Object.keys(settings), ...Object.keys(gpus)]);
  tenants.delete(HALF_LIFE_FIELD);
  const shares = new Map<string, TenantShare>();
  for (const tenant of tenants) {
    const s = parseSettingsValue(settings[tenant]);
    const runningGpus = Math.max(0, Number(gpus[tenant] ?? 0));
    const usageGpuMs = usageAt(usage[tenant], runningGpus, now, halfLifeMs);
    shares.set(tenant, {
      tenant,
      ...s,
      usageGpuMs,
      runningGpus,
      rank: fairShareRank(usageGpuMs, runningGpus, s.weight, halfLifeMs),
    });
  }
  return shares;
}

/** A tenant's share, or what a tenant the queue has never seen has. */
export function shareOf(shares: ReadonlyMap<string, TenantShare>, tenant: string): TenantShare {
  return (
    shares.get(tenant) ?? {
      tenant,
      weight: DEFAULT_WEIGHT,
      maxRunningGpus: null,
      usageGpuMs: 0,
      runningGpus: 0,
      rank: 0,
    }
  );
}
