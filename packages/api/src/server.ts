/**
 * The API server process: opens Redis (a fail-fast request connection; blocking ones for the
 * followers), the artifact store and the keyring from the configuration, builds the app and
 * listens. `close()` is safe to call twice and returns the same promise; it stops accepting
 * requests, ends open streams, then closes Redis and the store, each step's failure logged.
 */
import type { FastifyInstance } from 'fastify';
import { connectRedis, openArtifactStore, waitReady, type Logger } from '@gpufleet/core';
import { buildApp } from './app.js';
import { loadKeyring } from './auth/api-keys.js';
import type { ApiConfig } from './config.js';
import { enableAutoPipelining } from './redis/auto-pipelining.js';

/** Request commands fail after this long, so a hung Redis answers 503 within a second. */
export const REDIS_COMMAND_TIMEOUT_MS = 900;
/** How long start-up waits for Redis before listening anyway. */
export const STARTUP_REDIS_WAIT_MS = 5000;

export interface ApiServer {
  app: FastifyInstance;
  /** `http://host:port` it listens on. */
  url: string;
  close(): Promise<void>;
}

export async function startApiServer(config: ApiConfig, logger: Logger): Promise<ApiServer> {
  const keyring = await loadKeyring(config);
  const store = openArtifactStore(config.artifactStore);
  const redis = enableAutoPipelining(
    connectRedis(config.redisUrl, {
      connectionName: 'gpufleet-api',
      commandTimeoutMs: REDIS_COMMAND_TIMEOUT_MS,
      logger,
    }),
  );
  // Start serving either way (readyz says whether Redis answers), but give it a moment first so
  // the first requests and the metrics follower do not meet a connection still opening.
  await waitReady(redis, STARTUP_REDIS_WAIT_MS).catch(() =>
    logger.warn({ waitedMs: STARTUP_REDIS_WAIT_MS }, 'Redis is not reachable yet; answering 503 until it is'),
  );
  const connectBlocking = () =>
    connectRedis(config.redisUrl, { connectionName: 'gpufleet-api:follow', blocking: true, logger });
  let app: FastifyInstance;
  try {
    app = await buildApp({
      redis,
      connectBlocking,
      store,
      logger,
      keyring,
      prefix: config.prefix,
      limits: { maxUploadBytes: config.maxUploadBytes },
      outputDelivery: config.outputRedirect ? 'redirect' : 'stream',
      presignExpiresMs: config.presignExpiresMs,
    });
  } catch (error) {
    redis.disconnect();
    await store.close();
    throw error;
  }
  const url = await app.listen({ port: config.port, host: config.host });
  logger.info(
    { url, keys: keyring.size, store: store.description, prefix: config.prefix },
    'gpufleet API listening',
  );
  let closing: Promise<void> | null = null;
  const step = async (what: string, op: () => Promise<unknown>): Promise<void> => {
    await op().catch((error: unknown) => logger.warn({ err: error }, `shutdown: ${what} failed`));
  };
  return {
    app,
    url,
    close() {
      closing ??= (async () => {
        await step('closing the HTTP server', () => app.close());
        await step('closing Redis', () => redis.quit().catch(() => redis.disconnect()));
        await step('closing the artifact store', () => store.close());
        logger.info('gpufleet API stopped');
      })();
      return closing;
    },
  };
}
