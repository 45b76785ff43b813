/**
 * @gpufleet/tracker: the tracker daemon, usable in-process.
 *
 * @example
 * import { createLogger } from '@gpufleet/core';
 * import { createTracker, loadTrackerConfig } from '@gpufleet/tracker';
 * const tracker = await createTracker(loadTrackerConfig(), createLogger());
 * await tracker.start();
 * // ...
 * await tracker.close();
 */
export { loadTrackerConfig, TRACKER_DEFAULTS } from './config.js';
export type { TrackerConfig } from './config.js';
export { createTracker } from './create-tracker.js';
export type { CreateTrackerOptions } from './create-tracker.js';
export { GPU_SAMPLE_FIELDS, GpuSampler } from './gpu/gpu-sampler.js';
export type { GpuSampleListener, GpuSamplerOptions } from './gpu/gpu-sampler.js';
export { TaskGpuMeter } from './gpu/task-gpu-usage.js';
export type { TaskGpuUsage } from './gpu/task-gpu-usage.js';
export { resolveGpus } from './gpu/gpu-selection.js';
export type { GpuSelection, GpuSelector } from './gpu/gpu-selection.js';
export { GPU_QUERY_FIELDS, parseCudaVersion, parseGpuQuery } from './gpu/nvidia-smi-csv.js';
export type { QueriedGpu } from './gpu/nvidia-smi-csv.js';
export { NVIDIA_SMI_TIMEOUT_MS, readGpuInventory } from './gpu/read-gpu-inventory.js';
export type { ReadGpuInventoryOptions } from './gpu/read-gpu-inventory.js';
export { resolveTaskInit, TASK_INIT_SOURCE } from './process/task-init.js';
export { Spawner } from './process/spawner.js';
export type { ProcessExit, SpawnRequest, SpawnResult } from './process/spawner.js';
export { SlotPool } from './slot-pool.js';
export type { GpuHold, SlotGrant } from './slot-pool.js';
export { GpuOccupancy } from './gpu/gpu-occupancy.js';
export type { GpuOccupancyFactory, GpuOccupancyOptions } from './gpu/gpu-occupancy.js';
export type { GpuHealthFactory } from './gpu/gpu-health.js';
export { Tracker } from './tracker.js';
export type { TrackerDeps } from './tracker.js';
export { preciseNow } from './process/clock.js';
export type { RunningTask } from './run/task-execution.js';
export { TRACKER_EVENT_NAMES } from './tracker-events.js';
export type {
  AttemptRef,
  EmitTrackerEvent,
  TaskEvent,
  TrackerEventMap,
  TrackerEventName,
} from './tracker-events.js';
export type { KillReason } from './process/executer-process.js';
