/**
 * Redis connections. The blocking connection (XREADGROUP BLOCK) waits through reconnects
 * (`maxRetriesPerRequest: null`); the command connection fails fast so callers decide whether
 * to retry. Both reconnect with capped exponential backoff, forever, and report connection errors
 * to the process's OutageReporter (at most one line a second).
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { OutageReporter } from './outage-reporter.js';
import { backoffMs } from './backoff.js';

export interface RedisConnectOptions {
  /** Name shown by CLIENT LIST. */
  connectionName?: string;
  /** For blocking reads: never fail a command because of a disconnect. */
  blocking?: boolean;
  /** Fail a command after this long (fail-fast connections only). */
  commandTimeoutMs?: number;
  logger?: Logger;
  /** Shared by all of a process's connections, so an outage is logged once a second in all. */
  outage?: OutageReporter;
}

export const RECONNECT_BASE_MS = 50;
export const RECONNECT_MAX_MS = 2000;

/** Delay before reconnect attempt `times` (1-based): 50 ms doubling up to 2 s. */
export function reconnectDelayMs(times: number): number {
  return backoffMs(times, RECONNECT_BASE_MS, RECONNECT_MAX_MS);
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
  const outage = options.outage ?? (options.logger ? new OutageReporter(options.logger) : null);
  redis.on('error', (error: Error) => outage?.report(error, { connection: options.connectionName }));
  redis.on('ready', () => outage?.recovered());
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
