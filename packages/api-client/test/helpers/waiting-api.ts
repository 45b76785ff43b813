/**
 * A real API (started from its configuration, one admin token) over a test Redis whose queues list
 * the waiting probe but have no tracker: what the CLI tests of waiting tasks start from. The
 * tasks they submit stay queued, and the test writes into Redis what a tracker would.
 */
import { afterAll, beforeAll } from 'vitest';
import { publishCatalog, queueKeys, silentLogger, type QueueKeys } from '@gpufleet/core';
import { uniquePrefix, useRedis, useTempDirs } from '@gpufleet/testkit';
import { loadApiConfig, startApiServer, type ApiServer } from '@gpufleet/api';
import { runCli, WAITING_PROBE, type CliResult } from './cli-fleet.js';

export interface WaitingApi {
  readonly redis: ReturnType<typeof useRedis>;
  readonly prefix: string;
  readonly token: string;
  /** The keys of the `default` queue. */
  readonly keys: QueueKeys;
  readonly api: ApiServer;
  /** Runs `gpufleet` against the API, with `env` added to its environment. */
  cli(args: string[], env?: Record<string, string>): Promise<CliResult>;
}

/** Starts the API before the file's tests (queues `queues` get the probe) and closes it after. */
export function useWaitingApi(label: string, queues: readonly string[] = ['default']): WaitingApi {
  const redis = useRedis();
  const temp = useTempDirs();
  const prefix = uniquePrefix(label);
  const token = `${label}-test-token-${prefix}`;
  let api: ApiServer | undefined;
  let home = '';
  beforeAll(async () => {
    home = await temp.make();
    api = await startApiServer(
      loadApiConfig({
        REDIS_URL: redis.server.url,
        GPUFLEET_PREFIX: prefix,
        ARTIFACT_STORE: `${home}/artifacts`,
        GPUFLEET_API_PORT: '0',
        GPUFLEET_API_TOKEN: token,
        LOG_LEVEL: 'silent',
      }),
      silentLogger(),
    );
    for (const queue of queues)
      await publishCatalog(redis.server.client(), queueKeys(prefix, queue), [WAITING_PROBE]);
  });
  afterAll(async () => {
    await api?.close();
  });
  return {
    redis,
    prefix,
    token,
    keys: queueKeys(prefix, 'default'),
    get api(): ApiServer {
      if (!api) throw new Error('the API starts in beforeAll');
      return api;
    },
    cli: (args, env = {}) =>
      runCli(args, {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: home,
          GPUFLEET_API_URL: api?.url ?? '',
          GPUFLEET_TOKEN: token,
          ...env,
        },
      }),
  };
}
