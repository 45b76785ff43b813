/**
 * One test's fleet of tracker processes sharing a Redis, a key prefix, an artifact folder and a
 * work folder, with enqueue and wait helpers, all stopped after the test.
 */
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Redis } from 'ioredis';
import { enqueue, queueKeys, RECONNECT_MAX_MS, type QueueKeys } from '@gpufleet/core';
import { uniquePrefix, waitFor, type RedisServer, type TempDirs } from '@gpufleet/testkit';
import { TRACKER_DEFAULTS } from '@gpufleet/tracker';
import { TrackerProcess } from './tracker-process.js';

export interface FaultFleet {
  prefix: string;
  keys: QueueKeys;
  client: Redis;
  artifactDir: string;
  workDir: string;
  start(name: string, env?: Record<string, string>): Promise<TrackerProcess>;
  submit(spec: Record<string, unknown>): Promise<string>;
  /** Events (status transitions) of one task, in order. */
  events(taskId: string): Promise<string[]>;
  /**
   * Waits until Redis has been up longer than the restart guard: a Redis up for less than the
   * liveness TTL + 2 reconnects may have just restarted, and no tracker takes another for dead
   * then (see reclaim.ts). A test file's Redis was started for it; a test that times a takeover
   * lets it pass that age first, or it would time the guard.
   */
  pastRestartGuard(): Promise<void>;
}

export function useFaultFleets(
  redis: { readonly server: RedisServer },
  temp: TempDirs,
): () => Promise<FaultFleet> {
  const running: TrackerProcess[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((t) => t.stop()));
  });
  return async () => {
    const root = await temp.make();
    const prefix = uniquePrefix();
    const client = redis.server.client();
    const keys = queueKeys(prefix, 'default');
    const fleet: FaultFleet = {
      prefix,
      keys,
      client,
      artifactDir: join(root, 'artifacts'),
      workDir: join(root, 'work'),
      async start(name, env) {
        const tracker = new TrackerProcess({
          redisUrl: redis.server.url,
          prefix,
          name,
          artifactDir: fleet.artifactDir,
          workDir: fleet.workDir,
          env,
        });
        running.push(tracker); // stopped after the test even if it never starts
        await tracker.started(redis.server.client(), keys.trackers);
        return tracker;
      },
      async submit(spec) {
        return (await enqueue({ redis: client, prefix }, spec)).id;
      },
      async events(taskId) {
        const all = await client.xrange(keys.events, '-', '+');
        return all.filter(([, f]) => f[1] === taskId).map(([, f]) => f[3] ?? '');
      },
      async pastRestartGuard() {
        const guardMs = TRACKER_DEFAULTS.aliveMs + 2 * RECONNECT_MAX_MS + 1000;
        await waitFor(
          async () => {
            const uptime = /uptime_in_seconds:(\d+)/.exec(await client.info('server'))?.[1];
            return Number(uptime) * 1000 >= guardMs || null;
          },
          { timeoutMs: guardMs + 5000 },
        );
      },
    };
    return fleet;
  };
}
