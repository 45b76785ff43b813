/**
 * The tracker's GPU usage sampler. Every GPUFLEET_GPU_SAMPLE_MS it runs `nvidia-smi
 * --query-gpu=index,uuid,utilization.gpu,memory.used,temperature.gpu,power.draw
 * --format=csv,noheader,nounits` (the interface the inventory uses: read-gpu-inventory.ts says why
 * not NVML) and keeps the rows of the tracker's own GPUs: the latest sample, which the tracker
 * publishes with its registry entry at each heartbeat (tracker-presence.ts), and each sample handed
 * to its listeners, the meters of the running tasks (task-gpu-usage.ts). `[N/A]` and the like are
 * null.
 *
 * One call at a time, the next one an interval after the last ended, so a slow or failing
 * nvidia-smi never makes it spin; a call that does not answer within the timeout is killed, as is
 * the one under way at close. A failure (not found, an exit code, a timeout, an answer that lists
 * none of the tracker's GPUs) is logged once with its cause and not again until a sample succeeds,
 * which is logged as the sampling resuming; meanwhile there is no latest sample (the API shows no
 * usage rather than old figures). A row whose UUID is not the one the inventory gave that index is
 * another GPU (the indices moved) and is left out.
 */
import type { GpuSample, GpuStats, Logger } from '@gpufleet/core';
import { parseQueryRows } from './nvidia-smi-csv.js';
import { FailureReport, runNvidiaSmiQuery } from './nvidia-smi-run.js';
import { failureOf, NVIDIA_SMI_TIMEOUT_MS } from './read-gpu-inventory.js';

/** What a sample asks nvidia-smi for, in this order. */
export const GPU_SAMPLE_FIELDS = [
  'index',
  'uuid',
  'utilization.gpu',
  'memory.used',
  'temperature.gpu',
  'power.draw',
] as const;

export interface GpuSamplerOptions {
  /** The tracker's GPUs, by index, with the UUID the inventory read for each (null: unknown). */
  gpus: ReadonlyArray<{ index: number; uuid: string | null }>;
  /** GPUFLEET_GPU_SAMPLE_MS: from the end of one call to the start of the next. */
  intervalMs: number;
  logger: Logger;
  /** The nvidia-smi to run; default `nvidia-smi` on PATH. */
  command?: string;
  timeoutMs?: number;
  now?: () => number;
}

export type GpuSampleListener = (stats: GpuStats) => void;

function numberOf(text: string | null | undefined): number | null {
  if (text === null || text === undefined) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

export class GpuSampler {
  #latest: GpuStats | null = null;
  readonly #listeners = new Set<GpuSampleListener>();
  readonly #failure: FailureReport;
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Promise<unknown> = Promise.resolve();
  readonly #cancel = new AbortController();
  #started = false;
  #closing: Promise<void> | null = null;
  readonly #command: string;
  readonly #timeoutMs: number;
  readonly #now: () => number;

  constructor(private readonly options: GpuSamplerOptions) {
    this.#command = options.command ?? 'nvidia-smi';
    this.#timeoutMs = options.timeoutMs ?? NVIDIA_SMI_TIMEOUT_MS;
    this.#now = options.now ?? Date.now;
    this.#failure = new FailureReport(
      options.logger,
      'GPU usage sampling failed; no usage is published until it works again',
      'GPU usage sampling resumed',
    );
  }

  /** The last sample of the tracker's GPUs; null before the first and while sampling fails. */
  latest(): GpuStats | null {
    return this.#latest;
  }

  /** Calls `listener` with every sample from now on; the function returned stops that. */
  onSample(listener: GpuSampleListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Samples at once, then every interval until closed. Safe to call twice. */
  start(): void {
    if (this.#started || this.#closing) return;
    this.#started = true;
    this.#schedule(0);
  }

  /** Stops sampling and kills a call under way. Safe to call twice: the same promise. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#timer) clearTimeout(this.#timer);
      this.#cancel.abort();
      await this.#inFlight;
    })();
    return this.#closing;
  }

  /** Takes one sample now: stored as the latest and handed to the listeners; null when it failed. */
  async sample(): Promise<GpuStats | null> {
    const result = await runNvidiaSmiQuery(
      this.#command,
      '--query-gpu',
      GPU_SAMPLE_FIELDS,
      this.#cancel.signal,
      this.#timeoutMs,
    );
    if (result.isCanceled) return null;
    const gpus = result.failed ? [] : this.#ownGpus(String(result.stdout));
    if (result.failed || gpus.length === 0) {
      const cause = result.failed
        ? failureOf(this.#command, result, this.#timeoutMs)
        : `nvidia-smi listed none of this tracker's GPUs (${this.options.gpus.map((g) => g.index).join(',')})`;
      this.#failed(cause);
      return null;
    }
    this.#failure.worked();
    const stats: GpuStats = { at: this.#now(), gpus };
    this.#latest = stats;
    for (const listener of this.#listeners) listener(stats);
    return stats;
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#inFlight = this.sample()
        .catch((error: unknown) => this.#failed(error instanceof Error ? error.message : String(error)))
        .finally(() => {
          if (!this.#closing) this.#schedule(this.options.intervalMs);
        });
    }, delayMs);
    this.#timer.unref();
  }

  #failed(cause: string): void {
    this.#latest = null;
    this.#failure.failed(cause);
  }

  /** The rows of the tracker's GPUs, in its GPU order. */
  #ownGpus(csv: string): GpuSample[] {
    const rows = parseQueryRows(csv, GPU_SAMPLE_FIELDS);
    const samples: GpuSample[] = [];
    for (const { index, uuid } of this.options.gpus) {
      const row = rows.find((r) => r['index'] === String(index));
      if (!row || (uuid !== null && row['uuid']?.toLowerCase() !== uuid.toLowerCase())) continue;
      samples.push({
        index,
        utilizationPercent: numberOf(row['utilization.gpu']),
        memoryUsedMiB: numberOf(row['memory.used']),
        temperatureC: numberOf(row['temperature.gpu']),
        powerW: numberOf(row['power.draw']),
      });
    }
    return samples;
  }
}
