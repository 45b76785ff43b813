/**
 * Redis not ready: answer 503 (the client retries) before reading a large body. Telling "Redis is
 * down or busy" from other failures is core's `isRedisUnavailable` (http/error-handler.ts). The
 * request connection fails fast (no offline queue, one retry, a command timeout), so an outage
 * surfaces at once as one of those errors instead of a hanging request.
 */
import type { Redis } from 'ioredis';
import { redisUnavailable } from '../errors.js';

/** Throws REDIS_UNAVAILABLE unless the connection is ready: checked before reading a large body. */
export function assertRedisReady(redis: Redis): void {
  if (redis.status !== 'ready') throw redisUnavailable();
}
