/**
 * Closing a connection at shutdown without waiting on Redis (the API's and the tracker's): QUIT (pending replies first) only
 * when the connection is ready, and never longer than `quitTimeoutMs`; otherwise, and after a QUIT
 * that failed or took too long, drop the socket. A connection waiting to reconnect is only
 * dropped: QUIT could not be sent, and waiting for Redis to come back is what must not happen.
 */
import type { Redis } from 'ioredis';

export type RedisClosed = 'quit' | 'disconnected';

/** Resolves how it closed: `quit`, or `disconnected` (it was not connected); rejects (after disconnecting) when QUIT failed. */
export async function closeRedis(redis: Redis, quitTimeoutMs: number): Promise<RedisClosed> {
  if (redis.status !== 'ready') {
    redis.disconnect();
    return 'disconnected';
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`QUIT got no answer within ${quitTimeoutMs} ms`)),
      quitTimeoutMs,
    );
  });
  try {
    await Promise.race([redis.quit(), timeout]);
    return 'quit';
  } catch (error) {
    redis.disconnect();
    throw new Error('QUIT failed; the connection was dropped', { cause: error });
  } finally {
    clearTimeout(timer);
  }
}
