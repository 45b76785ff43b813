/**
 * Telling "Redis is down or busy" (answer 503 and let the client retry) from other failures. The
 * request connection fails fast (no offline queue, one retry, a command timeout), so an outage
 * surfaces at once as one of these errors instead of a hanging request.
 */
import type { Redis } from 'ioredis';
import { redisUnavailable } from '../errors.js';

const UNAVAILABLE_MESSAGES = [
  /Stream isn't writeable/i,
  /Connection is closed/i,
  /Command timed out/i,
  /Reached the max retries per request limit/i,
  /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY)\b/,
];
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTCONN',
]);

export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError') return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  return UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(error.message));
}

/** Throws REDIS_UNAVAILABLE unless the connection is ready: checked before reading a large body. */
export function assertRedisReady(redis: Redis): void {
  if (redis.status !== 'ready') throw redisUnavailable();
}
