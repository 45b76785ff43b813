/**
 * A tracker built from its environment as the bin builds it (loadTrackerConfig, createTracker),
 * on the GPUs a fake nvidia-smi describes: what the GPU tests start from. The environment is the
 * test's redis-server, a fresh queue prefix (unless `env` names one), the fixture executers, a
 * work folder and folder store of its own, no gpufleet-task-init, GPUFLEET_GPUS naming `gpus`
 * (every GPU of the fake unless given) and no usage sampling; `env` adds or overrides.
 */
import { readFile } from 'node:fs/promises';
import { silentLogger, type Logger } from '@gpufleet/core';
import { uniquePrefix, type FakeNvidiaSmi, type RedisServer, type TempDirs } from '@gpufleet/testkit';
import { createTracker, loadTrackerConfig, type Tracker } from '@gpufleet/tracker';
import { FIXTURE_EXECUTERS } from './fleet.js';

export interface FakeGpuTrackerOptions {
  redis: RedisServer;
  temp: TempDirs;
  /** Where the tracker goes, to be closed after the test (useTrackers). */
  trackers: Tracker[];
  smi: FakeNvidiaSmi;
  /** GPUFLEET_GPUS by index; default every GPU the fake lists. */
  gpus?: readonly number[];
  env?: Record<string, string>;
  logger?: Logger;
}

/** The tracker, started, and its queue prefix (for enqueueing). */
export async function startFakeGpuTracker(
  options: FakeGpuTrackerOptions,
): Promise<{ tracker: Tracker; prefix: string }> {
  const dir = await options.temp.make();
  const state = JSON.parse(await readFile(options.smi.stateFile, 'utf8')) as { gpus: unknown[] };
  const gpus = options.gpus ?? state.gpus.map((_, i) => i);
  const config = loadTrackerConfig(
    {
      REDIS_URL: options.redis.url,
      GPUFLEET_PREFIX: uniquePrefix(),
      GPUFLEET_EXECUTERS: FIXTURE_EXECUTERS,
      GPUFLEET_WORKDIR: dir,
      ARTIFACT_STORE: dir,
      GPUFLEET_TASK_INIT: 'off',
      GPUFLEET_GPUS: gpus.join(','),
      GPUFLEET_GPU_SAMPLE_MS: '0',
      ...options.env,
    },
    dir,
  );
  const tracker = await createTracker(config, options.logger ?? silentLogger(), {
    nvidiaSmi: options.smi.command,
  });
  options.trackers.push(tracker);
  await tracker.start();
  return { tracker, prefix: config.prefix };
}
