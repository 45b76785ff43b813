/**
 * Turns on ioredis auto-pipelining for the request connection: commands issued in the same tick
 * (by concurrent requests) go out in one write and come back in one read, which at full load saves
 * most of the socket system calls. ioredis reads the option when each command is sent, so it may be
 * set on a connection core's `connectRedis` made (which has no option for it yet).
 */
import type { Redis } from 'ioredis';

export function enableAutoPipelining(redis: Redis): Redis {
  redis.options.enableAutoPipelining = true;
  return redis;
}
