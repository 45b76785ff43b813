/**
 * One attempt's GPU usage, from the sampler's samples of its GPUs taken while its process runs
 * (gpu-sampler.ts): its peak GPU memory, per sample the sum of memory.used over its GPUs (those that
 * report it), the highest of those sums; and its mean utilisation, over its samples and its GPUs.
 * memory.used is the GPU's, whoever uses it: a task has its GPUs to itself, but a process outside
 * the fleet on the same GPU counts too. The attempt records both when it ends (task-execution.ts:
 * `gpuPeakMemoryMiB`, `gpuMeanUtilizationPercent`, cleared when no sample was taken, so a retry never
 * shows an earlier attempt's figures); a CPU task, or one on a tracker that does not sample, has no
 * meter and records nothing.
 */
import type { GpuStats } from '@gpufleet/core';
import type { GpuSampler } from './gpu-sampler.js';

export interface TaskGpuUsage {
  /** null: no sample (of its GPUs) reported memory while it ran. */
  peakMemoryMiB: number | null;
  /** Percent, to one decimal; null: no sample reported utilisation while it ran. */
  meanUtilizationPercent: number | null;
}

export class TaskGpuMeter {
  #peakMemoryMiB: number | null = null;
  #utilizationSum = 0;
  #utilizationCount = 0;
  #unsubscribe: (() => void) | null = null;

  constructor(private readonly gpuIds: readonly number[]) {}

  /** Counts the sampler's samples from now until `stop()`. */
  follow(sampler: Pick<GpuSampler, 'onSample'>): this {
    this.#unsubscribe = sampler.onSample((stats) => this.add(stats));
    return this;
  }

  /** Counts one sample: the rows of its GPUs. */
  add(stats: GpuStats): void {
    let memory: number | null = null;
    for (const gpu of stats.gpus) {
      if (!this.gpuIds.includes(gpu.index)) continue;
      if (gpu.memoryUsedMiB !== null) memory = (memory ?? 0) + gpu.memoryUsedMiB;
      if (gpu.utilizationPercent !== null) {
        this.#utilizationSum += gpu.utilizationPercent;
        this.#utilizationCount++;
      }
    }
    if (memory !== null) this.#peakMemoryMiB = Math.max(this.#peakMemoryMiB ?? 0, memory);
  }

  /** Counts no more samples (its process ended). Safe to call twice. */
  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  usage(): TaskGpuUsage {
    const count = this.#utilizationCount;
    return {
      peakMemoryMiB: this.#peakMemoryMiB,
      meanUtilizationPercent: count === 0 ? null : Math.round((this.#utilizationSum / count) * 10) / 10,
    };
  }

  /** The task record's fields (null clears one: no sample). */
  fields(): { gpuPeakMemoryMiB: number | null; gpuMeanUtilizationPercent: number | null } {
    const { peakMemoryMiB, meanUtilizationPercent } = this.usage();
    return { gpuPeakMemoryMiB: peakMemoryMiB, gpuMeanUtilizationPercent: meanUtilizationPercent };
  }
}

/** A meter for an attempt on `gpuIds`, following `sampler`; null for a CPU task or no sampler. */
export function meterTask(sampler: GpuSampler | undefined, gpuIds: readonly number[]): TaskGpuMeter | null {
  return sampler && gpuIds.length > 0 ? new TaskGpuMeter(gpuIds).follow(sampler) : null;
}
