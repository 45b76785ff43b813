/**
 * The queue's registry of trackers: each tracker keeps its registration (host, slots, executers,
 * running tasks, the inventory of its GPUs and their latest usage) in the registry hash and
 * refreshes `heartbeatAt`; a tracker is live while its heartbeat is younger than three of its
 * heartbeat intervals.
 */
import type { Redis } from 'ioredis';
import type { QueueKeys } from './keys.js';

/**
 * One GPU as the driver describes it (the tracker reads it with nvidia-smi at start, see the
 * tracker's gpu/read-gpu-inventory.ts). null: this driver or this GPU does not report it.
 */
export interface GpuDevice {
  /** nvidia-smi's index, which CUDA uses too under CUDA_DEVICE_ORDER=PCI_BUS_ID. */
  index: number;
  /** `GPU-` and 32 hex digits: the same whatever the index or the machine's other GPUs. */
  uuid: string;
  /** `domain:bus:device.function` in hex, as nvidia-smi writes it: `00000000:3B:00.0`. */
  pciBusId: string | null;
  /** The model: `NVIDIA H100 80GB HBM3`. */
  name: string;
  memoryMiB: number | null;
  /** CUDA compute capability, `9.0`; null from drivers older than the field (before 510). */
  computeCapability: string | null;
  /** null: a GPU without MIG (or a driver that does not say). */
  migMode: 'enabled' | 'disabled' | null;
}

/** A tracker's GPUs as the driver describes them, read once at start. */
export interface GpuInventory {
  driverVersion: string | null;
  /** The CUDA version the driver supports (nvidia-smi's `CUDA Version`). */
  cudaVersion: string | null;
  /** The GPUs this tracker uses, in its GPU id order. */
  gpus: GpuDevice[];
  /** Why nvidia-smi could not list the GPUs (not installed, failed, timed out); null when it did. */
  error: string | null;
}

/** One GPU's usage in a sample (nvidia-smi's query); null: the GPU or driver does not report it. */
export interface GpuSample {
  /** nvidia-smi's index: one of the tracker's GPU ids. */
  index: number;
  /** `utilization.gpu`: percent of the last sample period a kernel ran. */
  utilizationPercent: number | null;
  /** `memory.used`, MiB, whoever uses it (the task's processes and any other). */
  memoryUsedMiB: number | null;
  temperatureC: number | null;
  /** `power.draw`, watts. */
  powerW: number | null;
}

/** A tracker's latest sample of its GPUs (the tracker's gpu/gpu-sampler.ts), taken at `at` (ms). */
export interface GpuStats {
  at: number;
  gpus: GpuSample[];
}

export interface TrackerInfo {
  name: string;
  instance: string;
  host: string;
  pid: number;
  pidStartTime: string | null;
  gpus: number[];
  cpuSlots: number;
  executers: string[];
  /** It runs tasks' env setup lines (GPUFLEET_ALLOW_ENV_SETUP); absent (false) from older trackers. */
  envSetup?: boolean;
  /** Task id → the GPUs it holds ([] for a CPU slot). */
  running: Record<string, number[]>;
  startedAt: number;
  heartbeatAt: number;
  heartbeatMs: number;
  /** The GPUs' inventory; absent from a tracker with no GPUs to describe (GPUFLEET_GPUS=none) and from older trackers. */
  gpuInventory?: GpuInventory;
  /**
   * Its GPUs' latest usage, published at each heartbeat; absent while none was sampled (no GPUs,
   * sampling off or failing) and from older trackers.
   */
  gpuStats?: GpuStats;
  /**
   * Its GPUs that it does not give out now though none of its tasks holds them, with why (the
   * tracker's slot-pool.ts GpuHold: a foreign process, a task's processes not yet gone, a drain, a
   * fault); absent when none is held, and from older trackers.
   */
  gpuHolds?: GpuHoldInfo[];
  /** Why the whole tracker takes no new task (an operator's drain); absent when it takes tasks. */
  drained?: string;
}

/** A GPU a tracker holds back, with why. */
export interface GpuHoldInfo {
  index: number;
  kind: 'busy' | 'settling' | 'drained' | 'unhealthy';
  reason: string;
  /** The processes on it that it did not start (a `busy` or `settling` GPU), with their memory. */
  processes?: Array<{ pid: number; name: string; memoryMiB: number | null }>;
}

export function isLive(info: TrackerInfo, now: number): boolean {
  return now - info.heartbeatAt <= 3 * info.heartbeatMs;
}

export async function listTrackers(redis: Redis, keys: QueueKeys): Promise<TrackerInfo[]> {
  const raw = await redis.hgetall(keys.trackers);
  return Object.values(raw)
    .map((value) => JSON.parse(value) as TrackerInfo)
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

export async function listLiveTrackers(
  redis: Redis,
  keys: QueueKeys,
  now: number = Date.now(),
): Promise<TrackerInfo[]> {
  return (await listTrackers(redis, keys)).filter((t) => isLive(t, now));
}
