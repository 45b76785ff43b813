#!/usr/bin/env node
/**
 * gpufleet-tracker-healthcheck: exits 0 when this machine's tracker (REDIS_CONSUMER_NAME, or the
 * host name) is registered in its queue with a fresh heartbeat, 1 otherwise, saying why. Meant for
 * a container HEALTHCHECK; reads the same environment as the tracker.
 */
import { config as loadDotenv } from 'dotenv';
import { connectRedis, isLive, queueKeys, waitReady, type TrackerInfo } from '@gpufleet/core';
import { loadTrackerConfig } from '../config.js';

loadDotenv({ quiet: true });

async function main(): Promise<number> {
  const config = loadTrackerConfig({ GPUFLEET_EXECUTERS: '.', ...process.env });
  const redis = connectRedis(config.redisUrl, { commandTimeoutMs: 3000 });
  try {
    await waitReady(redis, 3000);
    const raw = await redis.hget(queueKeys(config.prefix, config.queue).trackers, config.consumerName);
    if (raw === null) {
      process.stderr.write(
        `unhealthy: tracker "${config.consumerName}" is not registered on queue "${config.queue}"\n`,
      );
      return 1;
    }
    const info = JSON.parse(raw) as TrackerInfo;
    if (!isLive(info, Date.now())) {
      process.stderr.write(
        `unhealthy: last heartbeat ${Math.round((Date.now() - info.heartbeatAt) / 1000)} s ago\n`,
      );
      return 1;
    }
    process.stdout.write(
      `healthy: ${Object.keys(info.running).length} running, heartbeat ${Date.now() - info.heartbeatAt} ms ago\n`,
    );
    return 0;
  } finally {
    redis.disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`unhealthy: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
