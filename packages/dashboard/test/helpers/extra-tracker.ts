/**
 * One more in-process tracker for a dashboard test's fleet (helpers/dashboard-fleet.ts): same
 * Redis, prefix and executers (the catalog's and the tracker tests' `probe`), its own name, GPUs
 * (a fake nvidia-smi) and folders. For tests that need a tracker to come and go, such as one big
 * enough for a task that then leaves. Its artifact store is its own folder: the API does not serve
 * the outputs of the tasks it runs.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@gpufleet/core';
import { CATALOG_DIR } from '@gpufleet/executers';
import {
  fakeMachine,
  installFakeNvidiaSmi,
  type FakeGpu,
  type RedisServer,
  type TempDirs,
} from '@gpufleet/testkit';
import { createTracker, loadTrackerConfig, type Tracker } from '@gpufleet/tracker';

const PROBE_EXECUTERS = fileURLToPath(new URL('../../../tracker/test/fixtures/executers', import.meta.url));

export async function startExtraTracker(
  redis: RedisServer,
  temp: TempDirs,
  options: { prefix: string; name: string; gpus: FakeGpu[]; env?: Record<string, string> },
): Promise<Tracker> {
  const dir = await temp.make();
  const smi = await installFakeNvidiaSmi(await temp.make(), fakeMachine(options.gpus));
  const tracker = await createTracker(
    loadTrackerConfig(
      {
        REDIS_URL: redis.url,
        GPUFLEET_PREFIX: options.prefix,
        ARTIFACT_STORE: join(dir, 'artifacts'),
        GPUFLEET_EXECUTERS: `${CATALOG_DIR}:${PROBE_EXECUTERS}`,
        GPUFLEET_ENABLE_OPT_IN_EXECUTERS: 'true',
        GPUFLEET_GPUS: options.gpus.map((_, i) => i).join(','),
        GPUFLEET_CPU_SLOTS: '0',
        GPUFLEET_WORKDIR: join(dir, 'work'),
        REDIS_CONSUMER_NAME: options.name,
        GPUFLEET_HEARTBEAT_MS: '500',
        GPUFLEET_BLOCK_MS: '200',
        GPUFLEET_KILL_GRACE_MS: '1000',
        GPUFLEET_SHUTDOWN_GRACE_MS: '500',
        GPUFLEET_TASK_INIT: 'off',
        LOG_LEVEL: 'silent',
        ...options.env,
      },
      dir,
    ),
    silentLogger(),
    { nvidiaSmi: smi.command },
  );
  await tracker.start();
  return tracker;
}
