/**
 * A real app against the test file's real redis-server: its own key prefix, a local artifact
 * store in a temp folder, three keys (two tenants and an admin), no metrics follower unless asked.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { Redis } from 'ioredis';
import {
  connectRedis,
  LocalArtifactStore,
  queueKeys,
  silentLogger,
  waitReady,
  type ArtifactStore,
  type Logger,
  type QueueKeys,
  type RetentionPolicy,
} from '@gpufleet/core';
import { uniquePrefix, type RedisServer, type TempDirs } from '@gpufleet/testkit';
import {
  ApiKeyring,
  buildApp,
  enableAutoPipelining,
  type ApiLimits,
  type OutputDelivery,
  type TenantPolicy,
} from '@gpufleet/api';

/** A stream for a pino logger that parses each line it writes into `lines`. */
export function jsonLineSink(lines: Array<Record<string, unknown>>): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
}

export const KEYS = {
  alice: 'alice-key-5b1f0c9e3a7d4e2f8a6b',
  bob: 'bob-key-9e8d7c6b5a4f3e2d1c0b',
  admin: 'admin-key-0f1e2d3c4b5a69788796',
} as const;

export const keyring = ApiKeyring.fromSecrets([
  { secret: KEYS.alice, keyName: 'alice', tenant: 'alice', role: 'user' },
  { secret: KEYS.bob, keyName: 'bob', tenant: 'bob', role: 'user' },
  { secret: KEYS.admin, keyName: 'ops', tenant: 'ops', role: 'admin' },
]);

export function auth(key: string): { authorization: string } {
  return { authorization: `Bearer ${key}` };
}

/**
 * Submits a `probe` task (with `spec` on top) through POST /v1/tasks as the holder of `key`;
 * fails the test unless it was created. Returns its id.
 */
export async function submitProbe(
  app: FastifyInstance,
  key: string,
  spec: Record<string, unknown> = {},
): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/tasks',
    headers: auth(key),
    payload: { executer: 'probe', ...spec },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>().id;
}

export interface TestApi {
  app: FastifyInstance;
  /** The app's own fail-fast connection. */
  redis: Redis;
  store: LocalArtifactStore;
  prefix: string;
  keys: QueueKeys;
  dir: string;
  close(): Promise<void>;
}

export interface TestApiOptions {
  limits?: Partial<ApiLimits>;
  outputDelivery?: OutputDelivery;
  /** Wraps the local store the app is given (a store that can presign, say). */
  wrapStore?: (store: LocalArtifactStore) => ArtifactStore;
  followTaskMetrics?: boolean;
  /** How often the queue history samples the GPUs in use (ApiDeps.historySampleMs). */
  historySampleMs?: number;
  /** The dashboard folder served under / (ApiDeps.dashboardRoot); default the built one. */
  dashboardRoot?: string | null;
  logger?: Logger;
  prefix?: string;
  artifactDir?: string;
  /** Each tenant's settings (quotas, weights); default: none. */
  tenants?: TenantPolicy;
  /** The priority of a task whose spec gives none, per queue; default core's DEFAULT_PRIORITY. */
  defaultPriority?: (queue: string) => number;
  /** The fair-share half-life written with each task; default core's. */
  fairShareHalfLifeMs?: number;
  /** The app's clock; default Date.now. */
  now?: () => number;
  /** The retention policy POST /v1/admin/gc sweeps by; default core's. */
  retention?: RetentionPolicy;
}

export async function startTestApi(
  server: RedisServer,
  temp: TempDirs,
  options: TestApiOptions = {},
): Promise<TestApi> {
  const prefix = options.prefix ?? uniquePrefix();
  const dir = await temp.make();
  const store = new LocalArtifactStore(options.artifactDir ?? join(dir, 'artifacts'));
  // As the server makes it: fail-fast, auto-pipelined.
  const redis = enableAutoPipelining(connectRedis(server.url, { commandTimeoutMs: 900 }));
  redis.on('error', () => undefined);
  await waitReady(redis);
  const blocking: Redis[] = [];
  const app = await buildApp({
    redis,
    connectBlocking: () => {
      const connection = connectRedis(server.url, { blocking: true });
      connection.on('error', () => undefined);
      blocking.push(connection);
      return connection;
    },
    store: options.wrapStore ? options.wrapStore(store) : store,
    logger: options.logger ?? silentLogger(),
    keyring,
    tenants: options.tenants,
    defaultPriority: options.defaultPriority,
    fairShareHalfLifeMs: options.fairShareHalfLifeMs,
    retention: options.retention,
    now: options.now,
    prefix,
    limits: options.limits,
    followTaskMetrics: options.followTaskMetrics ?? false,
    historySampleMs: options.historySampleMs,
    dashboardRoot: options.dashboardRoot,
    outputDelivery: options.outputDelivery,
  });
  await app.ready();
  return {
    app,
    redis,
    store,
    prefix,
    keys: queueKeys(prefix, 'default'),
    dir,
    async close() {
      await app.close();
      blocking.forEach((c) => c.disconnect());
      redis.disconnect();
    },
  };
}
