/**
 * Redis connections. The blocking connection (XREADGROUP BLOCK) waits through reconnects
 * (`maxRetriesPerRequest: null`); the command connection fails fast so callers decide whether
 * to retry. Both reconnect with capped exponential backoff, forever, and log connection errors
 * at most once a second.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

export interface RedisConnectOptions {
  /** Name shown by CLIENT LIST. */
  connectionName?: string;
  /** For blocking reads: never fail a command because of a disconnect. */
  blocking?: boolean;
  /** Fail a command after this long (fail-fast connections only). */
  commandTimeoutMs?: number;
  logger?: Logger;
}

export const RECONNECT_BASE_MS = 50;
export const RECONNECT_MAX_MS = 2000;

/** Delay before reconnect attempt `times` (1-based): 50 ms doubling up to 2 s. */
export function reconnectDelayMs(times: number): number {
  return Math.min(RECONNECT_BASE_MS * 2 ** Math.max(0, times - 1), RECONNECT_MAX_MS);
}

export function connectRedis(url: string, options: RedisConnectOptions = {}): Redis {
  const base: RedisOptions = {
    connectionName: options.connectionName,
    retryStrategy: reconnectDelayMs,
    connectTimeout: 2000,
    enableReadyCheck: true,
    lazyConnect: false,
  };
  const redis = options.blocking
    ? new Redis(url, { ...base, maxRetriesPerRequest: null, enableOfflineQueue: true })
    : new Redis(url, {
        ...base,
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        commandTimeout: options.commandTimeoutMs ?? 5000,
      });
  const logger = options.logger;
  let lastLogged = 0;
  let suppressed = 0;
  redis.on('error', (error: Error) => {
    const now = Date.now();
    if (now - lastLogged < 1000) {
      suppressed++;
      return;
    }
    logger?.error({ err: error, connection: options.connectionName, suppressed }, 'redis connection error');
    lastLogged = now;
    suppressed = 0;
  });
  redis.on('ready', () => {
    if (lastLogged > 0) logger?.info({ connection: options.connectionName }, 'redis connection restored');
    lastLogged = 0;
  });
  return redis;
}

/** Waits until the connection is ready (or fails after `timeoutMs`). */
export async function waitReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`redis not ready after ${timeoutMs} ms (status ${redis.status})`));
    }, timeoutMs);
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}
