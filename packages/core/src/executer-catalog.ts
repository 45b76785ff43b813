/**
 * The queue's executer catalog: what its trackers offer (version, parameter schema, default
 * resources). Trackers publish their executers at start-up; enqueue resolves defaults and checks
 * parameters against it; the API lists it.
 */
import type { Redis } from 'ioredis';
import type { QueueKeys } from './keys.js';

export interface CatalogEntry {
  name: string;
  version: string;
  description: string;
  /** JSON Schema of the parameters. */
  params: Record<string, unknown>;
  gpus: number;
  timeLimitMs: number;
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
