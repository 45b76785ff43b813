/**
 * A tracker's place in the queue's registry. At start it takes its consumer name: refused when a
 * live tracker holds it, taken over when the holder is this host's previous life (same host, and
 * that process is gone). It then refreshes the name's TTL key (its liveness key: once it expires,
 * other trackers take the tracker for dead and reclaim its tasks, see reclaim.ts) and, less often,
 * heartbeats its registry entry.
 */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { ConsumerNameTakenError, type Logger, type QueueKeys, type TrackerInfo } from '@gpufleet/core';
import { isSameProcessAlive, processStartTime } from './process/proc-info.js';

export interface Holder {
  instance: string;
  host: string;
  pid: number;
  pidStartTime: string | null;
}

export function currentHolder(instance: string): Holder {
  return { instance, host: hostname(), pid: process.pid, pidStartTime: processStartTime(process.pid) };
}

/** What is known of this name's previous holder when it was taken over (its previous life). */
export interface TakeNameResult {
  previous: Holder | null;
}

export async function takeConsumerName(
  redis: Redis,
  keys: QueueKeys,
  name: string,
  me: Holder,
  ttlMs: number,
): Promise<TakeNameResult> {
  const key = keys.trackerAlive(name);
  const value = JSON.stringify(me);
  if ((await redis.set(key, value, 'PX', ttlMs, 'NX')) === 'OK') return { previous: null };
  const raw = await redis.get(key);
  if (raw === null) return takeConsumerName(redis, keys, name, me, ttlMs);
  const holder = JSON.parse(raw) as Holder;
  const sameHost = holder.host === me.host;
  if (!sameHost || isSameProcessAlive(holder.pid, holder.pidStartTime)) {
    throw new ConsumerNameTakenError(name, `host ${holder.host}, pid ${holder.pid}`);
  }
  await redis.set(key, value, 'PX', ttlMs);
  return { previous: holder };
}

/** takeConsumerName, saying so when it takes the name over from this host's previous tracker. */
export async function claimConsumerName(
  redis: Redis,
  keys: QueueKeys,
  name: string,
  me: Holder,
  ttlMs: number,
  logger: Logger,
): Promise<void> {
  const { previous } = await takeConsumerName(redis, keys, name, me, ttlMs);
  if (previous) logger.warn({ previous }, 'taking over the consumer name from this host’s previous tracker');
}

/** Refreshes the name's TTL; false when another instance holds it now. */
export async function refreshConsumerName(
  redis: Redis,
  keys: QueueKeys,
  name: string,
  me: Holder,
  ttlMs: number,
): Promise<boolean> {
  const key = keys.trackerAlive(name);
  const raw = await redis.get(key);
  if (raw !== null && (JSON.parse(raw) as Holder).instance !== me.instance) return false;
  await redis.set(key, JSON.stringify(me), 'PX', ttlMs);
  return true;
}

export async function writeRegistration(redis: Redis, keys: QueueKeys, info: TrackerInfo): Promise<void> {
  await redis.hset(keys.trackers, info.name, JSON.stringify(info));
}

/** Leaves the registry (graceful shutdown). Only if the name is still this instance's. */
export async function leaveRegistry(redis: Redis, keys: QueueKeys, name: string, me: Holder): Promise<void> {
  const raw = await redis.get(keys.trackerAlive(name));
  if (raw !== null && (JSON.parse(raw) as Holder).instance !== me.instance) return;
  await redis.multi().del(keys.trackerAlive(name)).hdel(keys.trackers, name).exec();
}
