/**
 * The API server process: opens Redis (a fail-fast request connection; blocking ones for the
 * followers), the artifact store and the keyring from the configuration, builds the app and
 * listens. `close()` is safe to call twice and returns the same promise; it stops accepting
 * requests, ends open streams, then closes Redis and the store. Each step is bounded, so a Redis
 * that is down or hung cannot hold the process: a step that fails or runs out of time is logged
 * once, with its cause, and shutdown goes on with the next.
 */
import type { FastifyInstance } from 'fastify';
import {
  closeRedis,
  connectRedis,
  loadScripts,
  NEEDS_REDIS_7,
  openArtifactStore,
  OutageReporter,
  settlesWithin,
  waitReady,
  type Logger,
} from '@gpufleet/core';
import { buildApp } from './app.js';
import { loadAccess } from './auth/api-keys.js';
import type { ApiConfig } from './config.js';
import { enableAutoPipelining } from './redis/auto-pipelining.js';
import { priorityByQueue } from './tasks/queue-priorities.js';

/** Request commands fail after this long, so a hung Redis answers 503 within a second. */
export const REDIS_COMMAND_TIMEOUT_MS = 900;
/** How long start-up waits for Redis before listening anyway. */
export const STARTUP_REDIS_WAIT_MS = 5000;
/** The longest one shutdown step (HTTP server, artifact store) may take before shutdown goes on. */
export const SHUTDOWN_STEP_MS = 2000;
/** The longest QUIT may wait for Redis at shutdown before the connection is dropped. */
export const SHUTDOWN_QUIT_MS = 1000;

export interface ApiServer {
  app: FastifyInstance;
  /** `http://host:port` it listens on. */
  url: string;
  close(): Promise<void>;
}

export async function startApiServer(config: ApiConfig, logger: Logger): Promise<ApiServer> {
  const { keyring, tenants } = await loadAccess({
    ...config,
    defaults: { maxWaitingTasks: config.maxWaitingTasks, maxRunningGpus: config.maxRunningGpus },
  });
  const store = openArtifactStore(config.artifactStoreSettings);
  // One reporter for all connections: an outage is one line a second, not one per connection.
  const outage = new OutageReporter(logger);
  const redis = enableAutoPipelining(
    connectRedis(config.redisUrl, {
      connectionName: 'gpufleet-api',
      commandTimeoutMs: REDIS_COMMAND_TIMEOUT_MS,
      logger,
      outage,
    }),
  );
  // Start serving either way (readyz says whether Redis answers), but give it a moment first so
  // the first requests and the metrics follower do not meet a connection still opening.
  const ready = await waitReady(redis, STARTUP_REDIS_WAIT_MS).then(
    () => true,
    () => {
      logger.warn(
        { waitedMs: STARTUP_REDIS_WAIT_MS },
        'Redis is not reachable yet; answering 503 until it is',
      );
      return false;
    },
  );
  // The scripts' functions, so the first requests find them (a call that misses loads its own).
  // A Redis without functions (before 7.0) can serve nothing: that stops the start, saying so.
  if (ready)
    await loadScripts(redis).catch((error: unknown) => {
      if (error instanceof Error && error.message.startsWith(NEEDS_REDIS_7)) throw error;
      logger.warn({ err: error }, 'could not load the Redis functions; each call loads its own');
    });
  const connectBlocking = () =>
    connectRedis(config.redisUrl, { connectionName: 'gpufleet-api:follow', blocking: true, logger, outage });
  let app: FastifyInstance;
  try {
    app = await buildApp({
      redis,
      connectBlocking,
      store,
      logger,
      keyring,
      tenants,
      defaultPriority: priorityByQueue(config.defaultPriority, config.queuePriorities),
      fairShareHalfLifeMs: config.fairShareHalfLifeMs,
      retention: config.retention,
      logGraceMs: config.logGraceMs,
      prefix: config.prefix,
      limits: { maxUploadBytes: config.maxUploadBytes },
      outputDelivery: config.outputRedirect ? 'redirect' : 'stream',
      presignExpiresMs: config.presignExpiresMs,
      dashboardRoot: config.dashboardDir,
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
  /**
   * Runs one shutdown step, bounded by `timeoutMs` (a step that bounds itself passes none); a step
   * that fails or runs out of time is logged once. One that runs out of time goes on, unawaited.
   */
  const step = async (what: string, op: () => Promise<unknown>, timeoutMs?: number): Promise<void> => {
    let timedOut = false;
    const failed = (error: unknown): void => logger.warn({ err: error }, `shutdown: ${what} failed`);
    const running = op().catch((error: unknown) => {
      if (!timedOut) failed(error);
    });
    if (timeoutMs === undefined) await running;
    else if (!(await settlesWithin(running, timeoutMs))) {
      timedOut = true;
      failed(new Error(`did not finish within ${timeoutMs} ms`));
    }
  };
  return {
    app,
    url,
    close() {
      closing ??= (async () => {
        // Ends open streams too (forceCloseConnections), then the followers' blocking connections.
        await step('closing the HTTP server', () => app.close(), SHUTDOWN_STEP_MS);
        await step('closing Redis', async () => {
          const status = redis.status;
          if ((await closeRedis(redis, SHUTDOWN_QUIT_MS)) === 'disconnected')
            logger.info({ status }, 'Redis was not connected at shutdown; closed without QUIT');
        });
        await step('closing the artifact store', () => store.close(), SHUTDOWN_STEP_MS);
        logger.info('gpufleet API stopped');
      })();
      return closing;
    },
  };
}
