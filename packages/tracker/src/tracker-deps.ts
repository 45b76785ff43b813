/**
 * What a Tracker is built from (tracker.ts): its configuration, logger, artifact store and
 * executers, its GPUs with what create-tracker.ts made for them (inventory, usage sampler,
 * occupancy and health checks), and how it starts executer processes.
 */
import type { ArtifactStore, GpuInventory, LoadedExecuter, Logger } from '@gpufleet/core';
import type { TrackerConfig } from './config.js';
import type { GpuHealthFactory } from './gpu/gpu-health.js';
import type { GpuOccupancyFactory } from './gpu/gpu-occupancy.js';
import type { GpuSampler } from './gpu/gpu-sampler.js';

export interface TrackerDeps {
  config: TrackerConfig;
  logger: Logger;
  store: ArtifactStore;
  executers: ReadonlyMap<string, LoadedExecuter>;
  /** The GPUs this tracker may use (config's list, or detected). */
  gpuIds: readonly number[];
  /** Their inventory, published with the tracker (create-tracker.ts reads it). */
  gpuInventory?: GpuInventory;
  /** Samples their usage, published at each heartbeat and metered per task (create-tracker.ts makes it). */
  gpuSampler?: GpuSampler;
  /** Makes the check of their foreign processes and settling (gpu/gpu-occupancy.ts). */
  gpuOccupancy?: GpuOccupancyFactory;
  /** Makes the check of their health (gpu/gpu-health.ts). */
  gpuHealth?: GpuHealthFactory;
  /** gpufleet-task-init's path (see process/task-init.ts), or null to run executers directly. */
  taskInit: string | null;
  now?: () => number;
}
