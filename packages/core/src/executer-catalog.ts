/**
 * The queue's executer catalog: what its trackers offer (version, parameter schema, default
 * resources). Trackers publish their executers at start-up; enqueue resolves defaults and checks
 * parameters against it; the API lists it.
 */
import type { Redis } from 'ioredis';
import type { ServiceSpec } from './executers/service-manifest.js';
import type { QueueKeys } from './keys.js';

export interface CatalogEntry {
  name: string;
  version: string;
  description: string;
  /** JSON Schema of the parameters. */
  params: Record<string, unknown>;
  gpus: number;
  timeLimitMs: number;
  /** The GPU request of a task whose spec makes none (gpu-request.ts); absent: none. */
  gpuModels?: string[];
  minGpuMemoryMiB?: number;
  gpuShareMiB?: number;
  /** The manifest's `service` block, defaults filled in; absent for a batch executer. */
  service?: ServiceSpec;
  /** The tracker that published this entry last, and when. */
  tracker: string;
  updatedAt: number;
}

export async function readCatalog(redis: Redis, keys: QueueKeys): Promise<Map<string, CatalogEntry>> {
  const raw = await redis.hgetall(keys.executers);
  const catalog = new Map<string, CatalogEntry>();
  for (const [name, value] of Object.entries(raw)) catalog.set(name, JSON.parse(value) as CatalogEntry);
  return catalog;
}

/**
 * How long a catalog read for an enqueue is trusted for the executers it lists. One it does not
 * list is looked up again at once, so a tracker that has just published a new executer is seen
 * by the next enqueue; a changed or withdrawn entry is seen within this time (an enqueue can
 * always race with a tracker leaving: the task then waits for one, as any queued task does).
 */
export const CATALOG_CACHE_MS = 1000;

const recent = new WeakMap<Redis, Map<string, { at: number; catalog: Map<string, CatalogEntry> }>>();

/**
 * The catalog for resolving `executer`: the last one read through this client when it is at most
 * CATALOG_CACHE_MS old and lists `executer`, else a fresh read. Saves a round trip per enqueue.
 */
export async function catalogFor(
  redis: Redis,
  keys: QueueKeys,
  executer: string,
  now = Date.now(),
): Promise<Map<string, CatalogEntry>> {
  let byKey = recent.get(redis);
  if (!byKey) recent.set(redis, (byKey = new Map()));
  const cached = byKey.get(keys.executers);
  if (cached && now - cached.at <= CATALOG_CACHE_MS && now >= cached.at && cached.catalog.has(executer))
    return cached.catalog;
  const catalog = await readCatalog(redis, keys);
  byKey.set(keys.executers, { at: now, catalog });
  return catalog;
}

export async function publishCatalog(
  redis: Redis,
  keys: QueueKeys,
  entries: readonly CatalogEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  const args: string[] = [];
  for (const entry of entries) args.push(entry.name, JSON.stringify(entry));
  await redis.hset(keys.executers, ...args);
}
