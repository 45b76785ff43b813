/**
 * What a tracker opens and publishes at start: its three Redis connections (commands, fail fast;
 * the consumer loop's blocking reads; the control stream's blocking reads), the wait for Redis
 * (which may start later), and its executers' catalog entries.
 */
import type { Redis } from 'ioredis';
import {
  closeRedis,
  connectRedis,
  settlesWithin,
  waitReady,
  type CatalogEntry,
  type LoadedExecuter,
  type Logger,
  type OutageReporter,
} from '@gpufleet/core';
import { eventField, type EmitTrackerEvent } from './tracker-events.js';

/** How long a closing tracker waits for each of its last Redis writes (leaving the registry, QUIT). */
const LAST_WRITES_MS = 500;

export interface TrackerConnections {
  redis: Redis;
  blocking: Redis;
  control: Redis;
}

export function openConnections(
  url: string,
  name: string,
  outage: OutageReporter,
  logger: Logger,
): TrackerConnections {
  const open = (suffix: string, blocking: boolean): Redis =>
    connectRedis(url, { outage, connectionName: `gpufleet-tracker:${name}${suffix}`, blocking, logger });
  return { redis: open('', false), blocking: open(':read', true), control: open(':control', true) };
}

/**
 * Waits for the first connection to Redis, saying once that it waits (`waiting-for-redis`); ends
 * (throwing) when `signal` aborts, so a tracker told to stop never waits on Redis.
 */
export async function waitForRedis(
  redis: Redis,
  url: string,
  logger: Logger,
  signal: AbortSignal,
  emit: EmitTrackerEvent,
): Promise<void> {
  try {
    await waitReady(redis, 2000);
    return;
  } catch {
    const waiting = { redis: url.replace(/\/\/[^@]*@/, '//***@') };
    logger.warn({ ...waiting, ...eventField('waiting-for-redis') }, 'waiting for Redis');
    emit('waiting-for-redis', waiting);
  }
  const stopped = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
  while (!signal.aborted) {
    const ready = waitReady(redis, 60_000).then(
      () => true,
      () => false, // keep waiting: ioredis reconnects with backoff
    );
    if (await Promise.race([ready, stopped.then(() => false)])) return;
  }
  throw new Error('closed while waiting for Redis');
}

/** The catalog entries of a tracker's executers, as it publishes them. */
export function catalogEntries(
  executers: ReadonlyMap<string, LoadedExecuter>,
  tracker: string,
  updatedAt: number,
): CatalogEntry[] {
  return [...executers.values()].map(({ manifest }) => ({
    name: manifest.name,
    version: manifest.version,
    description: manifest.description ?? '',
    params: manifest.params,
    gpus: manifest.resources.gpus,
    timeLimitMs: manifest.resources.timeLimitMs,
    ...(manifest.resources.gpuModels && { gpuModels: manifest.resources.gpuModels }),
    ...(manifest.resources.minGpuMemoryMiB !== undefined && {
      minGpuMemoryMiB: manifest.resources.minGpuMemoryMiB,
    }),
    ...(manifest.resources.gpuShareMiB !== undefined && { gpuShareMiB: manifest.resources.gpuShareMiB }),
    ...(manifest.service && { service: manifest.service }),
    tracker,
    updatedAt,
  }));
}

/**
 * A closing tracker's last writes and its connections' end, each bounded: `leave` (the registry)
 * and QUIT wait at most LAST_WRITES_MS; a connection that is not ready is dropped at once.
 */
export async function closeConnections(
  { redis, blocking }: Pick<TrackerConnections, 'redis' | 'blocking'>,
  leave: () => Promise<void>,
  logger: Logger,
): Promise<void> {
  const left = leave().catch((error: unknown) => logger.warn({ err: error }, 'could not leave the registry'));
  if (!(await settlesWithin(left, LAST_WRITES_MS)))
    logger.warn('could not leave the registry: Redis did not answer');
  blocking.disconnect();
  await closeRedis(redis, LAST_WRITES_MS).catch((error: unknown) =>
    logger.warn({ err: error }, 'could not close the Redis connection cleanly'),
  );
}
