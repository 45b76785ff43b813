/**
 * Telling "Redis is down or busy" (answer 503 and let the client retry) from other failures. The
 * request connection fails fast (no offline queue, one retry, a command timeout), so an outage
 * surfaces at once as one of these errors instead of a hanging request.
 */
import type { Redis } from 'ioredis';
import { redisUnavailable } from '../errors.js';

export { isRedisUnavailable } from '@gpufleet/core';

/** Throws REDIS_UNAVAILABLE unless the connection is ready: checked before reading a large body. */
export function assertRedisReady(redis: Redis): void {
  if (redis.status !== 'ready') throw redisUnavailable();
}
