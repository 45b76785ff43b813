/**
 * Builds a Tracker from its configuration: loads the executers (a bad manifest stops start-up
 * with the file, the field and the reason), reads the GPU inventory with nvidia-smi and picks the
 * GPUs GPUFLEET_GPUS names (by index or UUID: a UUID no GPU has stops start-up, a ConfigError),
 * makes their usage sampler (none without GPUs, when the inventory could not be read, or with
 * GPUFLEET_GPU_SAMPLE_MS=0) and their occupancy check (gpu/gpu-occupancy.ts), and opens the artifact store its configuration describes.
 * Their health check too (gpu/gpu-health.ts; none without GPUs or an inventory, or with
 * GPUFLEET_GPU_HEALTH_MS=0).
 */
import { loadExecuters, openArtifactStore, type GpuInventory, type Logger } from '@gpufleet/core';
import type { TrackerConfig } from './config.js';
import { healthCheck } from './gpu/gpu-health.js';
import { occupancyCheck } from './gpu/gpu-occupancy.js';
import { GpuSampler } from './gpu/gpu-sampler.js';
import { resolveGpus } from './gpu/gpu-selection.js';
import { readGpuInventory } from './gpu/read-gpu-inventory.js';
import { resolveTaskInit } from './process/task-init.js';
import { Tracker } from './tracker.js';

export interface CreateTrackerOptions {
  /** The nvidia-smi to read the GPUs with; default `nvidia-smi` on PATH. */
  nvidiaSmi?: string;
}

/** The GPUs this tracker uses and their inventory (none to read for GPUFLEET_GPUS=none). */
async function selectGpus(
  config: TrackerConfig,
  logger: Logger,
  nvidiaSmi: string | undefined,
): Promise<{ gpuIds: number[]; gpuInventory?: GpuInventory }> {
  if (config.gpus !== null && config.gpus.length === 0) return { gpuIds: [] };
  const { gpuIds, inventory, unlisted } = resolveGpus(
    config.gpus,
    await readGpuInventory({ logger, command: nvidiaSmi }),
  );
  if (unlisted.length > 0) {
    logger.warn({ gpus: unlisted }, 'GPUFLEET_GPUS names GPUs that nvidia-smi does not list');
  }
  if (inventory.gpus.length > 0) {
    const { driverVersion, cudaVersion } = inventory;
    const gpus = inventory.gpus.map(({ index, name, memoryMiB, uuid }) => ({ index, name, memoryMiB, uuid }));
    logger.info({ gpus, driverVersion, cudaVersion }, 'GPU inventory');
  }
  return { gpuIds, gpuInventory: inventory };
}

/** The sampler of the GPUs' usage, or none to sample (see the header). */
function usageSampler(
  config: TrackerConfig,
  logger: Logger,
  nvidiaSmi: string | undefined,
  gpuIds: readonly number[],
  inventory: GpuInventory | undefined,
): GpuSampler | undefined {
  if (gpuIds.length === 0 || !inventory || inventory.error !== null || config.gpuSampleMs === 0) return;
  return new GpuSampler({
    gpus: gpuIds.map((index) => ({
      index,
      uuid: inventory.gpus.find((g) => g.index === index)?.uuid ?? null,
    })),
    intervalMs: config.gpuSampleMs,
    logger: logger.child({ tracker: config.consumerName, queue: config.queue }),
    command: nvidiaSmi,
  });
}

export async function createTracker(
  config: TrackerConfig,
  logger: Logger,
  options: CreateTrackerOptions = {},
): Promise<Tracker> {
  const executers = await loadExecuters(config.executerPaths, { allowOptIn: config.allowOptInExecuters });
  for (const skipped of executers.skipped) {
    logger.info(
      { executer: skipped.name, file: skipped.file, reason: skipped.reason },
      'executer not loaded',
    );
  }
  // A tracker fronting SLURM has no GPUs of its own to read (tracker.ts gives it its job slots).
  const { gpuIds, gpuInventory } = config.slurm
    ? { gpuIds: [], gpuInventory: undefined }
    : await selectGpus(config, logger, options.nvidiaSmi);
  const store = openArtifactStore(config.artifactStoreSettings);
  const taskInit = config.slurm ? null : await resolveTaskInit(config.taskInit, config.workDir, logger);
  const gpuSampler = usageSampler(config, logger, options.nvidiaSmi, gpuIds, gpuInventory);
  const child = logger.child({ tracker: config.consumerName, queue: config.queue });
  const gpuOccupancy = occupancyCheck(config, child, options.nvidiaSmi, gpuIds, gpuInventory);
  const gpuHealth = healthCheck(config, child, options.nvidiaSmi, gpuIds, gpuInventory);
  return new Tracker({
    config,
    logger,
    store,
    executers,
    gpuIds,
    gpuInventory,
    gpuSampler,
    gpuOccupancy,
    gpuHealth,
    taskInit,
  });
}
