/**
 * The fleet's GPUs in Prometheus form, read at scrape time from the live trackers' registry entries
 * (each tracker samples its GPUs with nvidia-smi and publishes the latest sample at each heartbeat:
 * the tracker's gpu/gpu-sampler.ts), labelled `{queue,tracker,gpu,uuid,model}` (`gpu`: the
 * nvidia-smi index; `uuid`, `model`: from the tracker's inventory, '' when it has none):
 * - `gpufleet_gpu_utilization_ratio` (0..1), `gpufleet_gpu_memory_used_bytes`,
 *   `gpufleet_gpu_temperature_celsius`, `gpufleet_gpu_power_watts`: the latest sample; a GPU the
 *   driver gives no value for, and a tracker whose sampling fails, has no series;
 * - `gpufleet_gpu_memory_total_bytes`: from the inventory;
 * - `gpufleet_gpu_held{…,kind}`: 1 for a GPU the tracker gives to no task now though none of its
 *   tasks holds it (kind `busy`, `settling`, `drained`, `unhealthy`: the tracker's gpu-occupancy.ts
 *   and drains), 0 otherwise; `gpufleet_gpu_foreign_processes` and
 *   `gpufleet_gpu_foreign_memory_bytes`: the processes it did not start on a GPU it holds back, and
 *   their memory.
 * A dead tracker's GPUs drop out with its heartbeat (core's isLive).
 */
import { Gauge, type Registry } from 'prom-client';
import type { GpuHoldInfo, GpuSample, TrackerInfo } from '@gpufleet/core';

/** What a scrape reads of each queue: its live trackers. */
export interface GpuScrape {
  queue: string;
  trackers: TrackerInfo[];
}

type GpuLabel = 'queue' | 'tracker' | 'gpu' | 'uuid' | 'model';
const LABELS: GpuLabel[] = ['queue', 'tracker', 'gpu', 'uuid', 'model'];
const MIB = 1024 * 1024;

/** One GPU of a live tracker: its labels, its latest sample (null: none) and its total memory. */
interface GpuRow {
  labels: Record<GpuLabel, string>;
  sample: GpuSample | null;
  memoryMiB: number | null;
  hold: GpuHoldInfo | null;
}

function gpuRows(scrapes: readonly GpuScrape[]): GpuRow[] {
  const rows: GpuRow[] = [];
  for (const { queue, trackers } of scrapes) {
    for (const t of trackers) {
      for (const index of t.gpus) {
        const device = t.gpuInventory?.gpus.find((g) => g.index === index);
        rows.push({
          labels: {
            queue,
            tracker: t.name,
            gpu: String(index),
            uuid: device?.uuid ?? '',
            model: device?.name ?? '',
          },
          sample: t.gpuStats?.gpus.find((g) => g.index === index) ?? null,
          memoryMiB: device?.memoryMiB ?? null,
          hold: t.gpuHolds?.find((h) => h.index === index) ?? null,
        });
      }
    }
  }
  return rows;
}

/** Registers the GPU gauges in `registry`; `scrape` gives the queues' live trackers (shared per scrape). */
export function registerGpuGauges(registry: Registry, scrape: () => Promise<GpuScrape[]>): void {
  const gauge = (name: string, help: string, value: (row: GpuRow) => number | null): void => {
    new Gauge({
      name,
      help,
      labelNames: LABELS,
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of gpuRows(await scrape())) {
          const v = value(row);
          if (v !== null) this.set(row.labels, v);
        }
      },
    });
  };
  const sampled =
    (pick: (s: GpuSample) => number | null, unit: (v: number) => number = (v) => v) =>
    (row: GpuRow): number | null => {
      const v = row.sample === null ? null : pick(row.sample);
      return v === null ? null : unit(v);
    };
  gauge(
    'gpufleet_gpu_utilization_ratio',
    'Share of the last sample period a kernel ran on the GPU (nvidia-smi utilization.gpu / 100)',
    sampled(
      (s) => s.utilizationPercent,
      (percent) => percent / 100,
    ),
  );
  gauge(
    'gpufleet_gpu_memory_used_bytes',
    'GPU memory in use, by any process (nvidia-smi memory.used)',
    sampled(
      (s) => s.memoryUsedMiB,
      (mib) => mib * MIB,
    ),
  );
  gauge('gpufleet_gpu_memory_total_bytes', 'GPU memory in all (the tracker’s inventory)', (row) =>
    row.memoryMiB === null ? null : row.memoryMiB * MIB,
  );
  gauge(
    'gpufleet_gpu_temperature_celsius',
    'GPU core temperature (nvidia-smi temperature.gpu)',
    sampled((s) => s.temperatureC),
  );
  gauge(
    'gpufleet_gpu_power_watts',
    'GPU power draw (nvidia-smi power.draw)',
    sampled((s) => s.powerW),
  );
  new Gauge({
    name: 'gpufleet_gpu_held',
    help: 'The tracker gives the GPU to no task now though none of its tasks holds it (kind: busy, settling, drained, unhealthy)',
    labelNames: [...LABELS, 'kind'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const row of gpuRows(await scrape()))
        this.set({ ...row.labels, kind: row.hold?.kind ?? '' }, row.hold ? 1 : 0);
    },
  });
  // Only for a GPU held back with processes named: the others have none to count.
  const foreign = (row: GpuRow) => (row.hold?.processes?.length ? row.hold.processes : null);
  gauge(
    'gpufleet_gpu_foreign_processes',
    'Compute processes the tracker did not start on a GPU it holds back',
    (row) => foreign(row)?.length ?? null,
  );
  gauge('gpufleet_gpu_foreign_memory_bytes', 'GPU memory those processes use', (row) => {
    const processes = foreign(row);
    return processes ? processes.reduce((sum, p) => sum + (p.memoryMiB ?? 0), 0) * MIB : null;
  });
}
