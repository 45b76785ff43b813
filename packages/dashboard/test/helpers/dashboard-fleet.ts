/**
 * A real fleet for the dashboard's tests: the file's redis-server, the API (server.ts, from its
 * configuration, on a free port, serving the built dashboard) with a keys file of three keys (an
 * admin of tenant `ops`, users `alice` and `bob`), and one in-process tracker on the GPUs of a
 * fake nvidia-smi (two H100s by default), sampling their usage, with the catalog's executers
 * (`sph`, `script`) and the tracker tests' `probe`, and those of `executerPaths` besides (the
 * tracker tests' service fixtures: SERVICE_EXECUTERS). GPUs are not exercised: the fake answers as
 * nvidia-smi does.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@gpufleet/core';
import { CATALOG_DIR } from '@gpufleet/executers';
import {
  fakeGpu,
  fakeMachine,
  installFakeNvidiaSmi,
  uniquePrefix,
  type FakeGpu,
  type FakeNvidiaSmi,
  type RedisServer,
  type TempDirs,
} from '@gpufleet/testkit';
import { createTracker, loadTrackerConfig, type Tracker } from '@gpufleet/tracker';
import { loadApiConfig, startApiServer, type ApiServer } from '@gpufleet/api';

const PROBE_EXECUTERS = fileURLToPath(new URL('../../../tracker/test/fixtures/executers', import.meta.url));
/** The tracker tests' service executers (`svc-tcp`, `svc-http`, `svc-stdout`, `svc-aged`). */
export const SERVICE_EXECUTERS = fileURLToPath(
  new URL('../../../tracker/test/fixtures/services', import.meta.url),
);

export const KEYS = {
  admin: 'dashboard-test-admin-key-0123456789abcdef',
  alice: 'dashboard-test-alice-key-0123456789abcdef',
  bob: 'dashboard-test-bob-key-0123456789abcdef0',
} as const;

export interface DashboardFleet {
  url: string;
  prefix: string;
  api: ApiServer;
  tracker: Tracker;
  smi: FakeNvidiaSmi;
  close(): Promise<void>;
}

const sha256 = (key: string): string => createHash('sha256').update(key).digest('hex');

export async function startDashboardFleet(
  redis: RedisServer,
  temp: TempDirs,
  options: {
    gpus?: FakeGpu[];
    trackerEnv?: Record<string, string>;
    /** More executer folders for the tracker, after the catalog and `probe`. */
    executerPaths?: string[];
  } = {},
): Promise<DashboardFleet> {
  const dir = await temp.make();
  const prefix = uniquePrefix('dash');
  const keysFile = join(dir, 'keys.json');
  await writeFile(
    keysFile,
    JSON.stringify({
      keys: [
        { name: 'ops-key', tenant: 'ops', role: 'admin', sha256: sha256(KEYS.admin) },
        { name: 'alice-key', tenant: 'alice', role: 'user', sha256: sha256(KEYS.alice) },
        { name: 'bob-key', tenant: 'bob', role: 'user', sha256: sha256(KEYS.bob) },
      ],
    }),
  );
  const artifacts = join(dir, 'artifacts');
  const api = await startApiServer(
    loadApiConfig({
      REDIS_URL: redis.url,
      GPUFLEET_PREFIX: prefix,
      ARTIFACT_STORE: artifacts,
      GPUFLEET_API_PORT: '0',
      GPUFLEET_API_KEYS_FILE: keysFile,
      LOG_LEVEL: 'silent',
    }),
    silentLogger(),
  );
  const gpus = options.gpus ?? [fakeGpu('H100', 0), fakeGpu('H100', 1)];
  const smi = await installFakeNvidiaSmi(await temp.make(), fakeMachine(gpus));
  const tracker = await createTracker(
    loadTrackerConfig(
      {
        REDIS_URL: redis.url,
        GPUFLEET_PREFIX: prefix,
        ARTIFACT_STORE: artifacts,
        GPUFLEET_EXECUTERS: [CATALOG_DIR, PROBE_EXECUTERS, ...(options.executerPaths ?? [])].join(':'),
        GPUFLEET_ENABLE_OPT_IN_EXECUTERS: 'true',
        GPUFLEET_GPUS: gpus.map((_, i) => i).join(','),
        GPUFLEET_CPU_SLOTS: '1',
        GPUFLEET_WORKDIR: join(dir, 'work'),
        REDIS_CONSUMER_NAME: `gpu-node-${prefix}`.slice(0, 64),
        GPUFLEET_HEARTBEAT_MS: '500',
        GPUFLEET_BLOCK_MS: '200',
        GPUFLEET_GPU_SAMPLE_MS: '500',
        GPUFLEET_KILL_GRACE_MS: '1000',
        GPUFLEET_SHUTDOWN_GRACE_MS: '500',
        GPUFLEET_TASK_INIT: 'off',
        LOG_LEVEL: 'silent',
        ...options.trackerEnv,
      },
      dir,
    ),
    silentLogger(),
    { nvidiaSmi: smi.command },
  );
  await tracker.start();
  return {
    url: api.url,
    prefix,
    api,
    tracker,
    smi,
    async close() {
      await tracker.close();
      await api.close();
    },
  };
}
