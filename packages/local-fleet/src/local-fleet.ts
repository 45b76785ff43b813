/**
 * A whole fleet on one machine: Redis (found or started), one tracker with the machine's GPUs (or
 * GPUFLEET_GPUS, or CPU slots when there are none) and the executers of packages/executers (the
 * opt-in `script` included), and the web API with a generated token that the `gpufleet` command
 * finds by itself; artifacts and work under `.gpufleet/`. `close()` stops what it started, in
 * order (API, tracker, Redis), each failure logged; it is safe to call twice.
 */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { connectRedis, createLogger, waitReady, type Logger } from '@gpufleet/core';
import { CATALOG_DIR } from '@gpufleet/executers';
import { createTracker, loadTrackerConfig, type Tracker } from '@gpufleet/tracker';
import { startLocalApi, type LocalApi } from './local-api.js';
import { findLocalRedis, type LocalRedis } from './local-redis.js';

export interface LocalFleetOptions {
  env?: NodeJS.ProcessEnv;
  /** Where artifacts, work, the API's token and a started Redis keep their data; default `./.gpufleet`. */
  dataDir?: string;
  logger?: Logger;
  /** Start a redis-server of its own even when another Redis answers. */
  ownRedis?: boolean;
  /** The API's port; default GPUFLEET_API_PORT, else 8080, else a free one. */
  apiPort?: number;
}

export interface LocalFleet {
  redis: LocalRedis;
  prefix: string;
  tracker: Tracker;
  api: LocalApi;
  dataDir: string;
  /** How long `close()` lets running tasks finish before it hands them back (GPUFLEET_SHUTDOWN_GRACE_MS). */
  shutdownGraceMs: number;
  close(): Promise<void>;
}

export async function startLocalFleet(options: LocalFleetOptions = {}): Promise<LocalFleet> {
  const env = options.env ?? process.env;
  const dataDir = resolve(options.dataDir ?? '.gpufleet');
  const logger = options.logger ?? createLogger({ name: 'gpufleet-local', level: 'warn' });
  const redis = await findLocalRedis(env, dataDir, options.ownRedis);
  const steps: Array<[string, () => Promise<void>]> = [['stopping Redis', () => redis.stop()]];
  const stop = async (): Promise<void> => {
    for (const [what, step] of steps.splice(0).reverse()) {
      await step().catch((error: unknown) => logger.warn({ err: error }, `local fleet: ${what} failed`));
    }
  };
  try {
    const config = loadTrackerConfig({
      REDIS_CONSUMER_NAME: `local-${hostname().replace(/[^A-Za-z0-9_.-]/g, '-')}`.slice(0, 64),
      ARTIFACT_STORE: join(dataDir, 'artifacts'),
      GPUFLEET_WORKDIR: join(dataDir, 'work'),
      GPUFLEET_EXECUTERS: CATALOG_DIR,
      GPUFLEET_ENABLE_OPT_IN_EXECUTERS: 'true',
      ...env,
      REDIS_URL: redis.url,
    });
    const tracker = await createTracker(config, logger);
    steps.push(['closing the tracker', () => tracker.close()]);
    await tracker.start();
    const api = await startLocalApi({
      env,
      dataDir,
      redisUrl: redis.url,
      prefix: config.prefix,
      artifactStore: config.artifactStore,
      logger,
      port: options.apiPort,
      gpus: tracker.info().gpus.length > 0 ? 1 : 0,
    });
    steps.push(['closing the API', () => api.close()]);
    let closing: Promise<void> | null = null;
    return {
      redis,
      prefix: config.prefix,
      tracker,
      api,
      dataDir,
      shutdownGraceMs: config.shutdownGraceMs,
      close: () => {
        closing ??= stop();
        return closing;
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A fail-fast connection to the fleet's Redis, ready. */
export async function connectToFleet(fleet: LocalFleet): Promise<ReturnType<typeof connectRedis>> {
  const redis = connectRedis(fleet.redis.url);
  await waitReady(redis);
  return redis;
}
