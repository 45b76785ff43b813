/**
 * A whole fleet on one machine: Redis (found or started), one tracker with the machine's GPUs (or
 * GPUFLEET_GPUS, or CPU slots when there are none) and the executers of packages/executers, its
 * artifacts and work under `.gpufleet/`. `close()` stops what it started, in order.
 */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { connectRedis, createLogger, waitReady, type Logger } from '@gpufleet/core';
import { CATALOG_DIR } from '@gpufleet/executers';
import { createTracker, loadTrackerConfig, type Tracker } from '@gpufleet/tracker';
import { findLocalRedis, type LocalRedis } from './local-redis.js';

export interface LocalFleetOptions {
  env?: NodeJS.ProcessEnv;
  /** Where artifacts, work and a started Redis keep their data; default `./.gpufleet`. */
  dataDir?: string;
  logger?: Logger;
  /** Start a redis-server of its own even when another Redis answers. */
  ownRedis?: boolean;
}

export interface LocalFleet {
  redis: LocalRedis;
  prefix: string;
  tracker: Tracker;
  close(): Promise<void>;
}

export async function startLocalFleet(options: LocalFleetOptions = {}): Promise<LocalFleet> {
  const env = options.env ?? process.env;
  const dataDir = resolve(options.dataDir ?? '.gpufleet');
  const logger = options.logger ?? createLogger({ name: 'gpufleet-local', level: 'warn' });
  const redis = await findLocalRedis(env, dataDir, options.ownRedis);
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
    await tracker.start();
    let closing: Promise<void> | null = null;
    return {
      redis,
      prefix: config.prefix,
      tracker,
      close: () => {
        closing ??= (async () => {
          await tracker.close();
          await redis.stop();
        })();
        return closing;
      },
    };
  } catch (error) {
    await redis.stop();
    throw error;
  }
}

/** A fail-fast connection to the fleet's Redis, ready. */
export async function connectToFleet(fleet: LocalFleet): Promise<ReturnType<typeof connectRedis>> {
  const redis = connectRedis(fleet.redis.url);
  await waitReady(redis);
  return redis;
}
