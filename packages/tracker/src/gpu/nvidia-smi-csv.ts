/**
 * Reads what `nvidia-smi --query-gpu=FIELDS --format=csv,noheader,nounits` prints: one GPU a line,
 * the fields in the order asked, separated by `, `. A value the driver or the GPU does not report
 * (`[N/A]`, `[Not Supported]`, `[Field not supported]`, `[Unknown Error]`...) is null, never an
 * error; a line without an index and a UUID is not a GPU and is skipped. Also finds the CUDA
 * version in nvidia-smi's other outputs, and the field an older driver refused. `parseQueryRows`
 * reads any other query the same way (the usage sampler's, gpu-sampler.ts).
 */
import type { GpuDevice } from '@gpufleet/core';

/** What the inventory asks for. The last two are optional: older drivers refuse them (see below). */
export const GPU_QUERY_FIELDS = [
  'index',
  'uuid',
  'pci.bus_id',
  'name',
  'memory.total',
  'driver_version',
  'compute_cap',
  'mig.mode.current',
] as const;

export type GpuQueryField = (typeof GPU_QUERY_FIELDS)[number];

/** Fields the inventory can do without: `compute_cap` came with driver 510, `mig.mode.current` with 450. */
export const OPTIONAL_GPU_FIELDS: ReadonlySet<string> = new Set(['compute_cap', 'mig.mode.current']);

/** A GPU as one line of the query describes it, with the driver version it gave. */
export interface QueriedGpu {
  device: GpuDevice;
  driverVersion: string | null;
}

/** The value, or null for nvidia-smi's "no value" answers (`[N/A]`, `N/A`, `[Not Supported]`...). */
function valueOf(text: string | undefined): string | null {
  const value = text?.trim() ?? '';
  return value === '' || /^\[.*\]$/.test(value) || value === 'N/A' ? null : value;
}

/** The columns of a line; surplus commas are taken to be part of the GPU's name. */
function columnsOf(line: string, fields: readonly string[]): string[] | null {
  const columns = line.split(',');
  if (columns.length === fields.length) return columns;
  const at = fields.indexOf('name');
  if (columns.length < fields.length || at < 0) return null;
  const after = fields.length - at - 1;
  const name = columns.slice(at, columns.length - after).join(',');
  return [...columns.slice(0, at), name, ...columns.slice(columns.length - after)];
}

function migModeOf(text: string | null): GpuDevice['migMode'] {
  if (text === 'Enabled') return 'enabled';
  if (text === 'Disabled') return 'disabled';
  return null;
}

/** Each line of a `--query-gpu` answer for `fields`, as field → value (null: not reported). */
export function parseQueryRows(csv: string, fields: readonly string[]): Array<Record<string, string | null>> {
  const rows: Array<Record<string, string | null>> = [];
  for (const line of csv.split('\n')) {
    const columns = columnsOf(line, fields);
    if (columns !== null) rows.push(Object.fromEntries(fields.map((f, i) => [f, valueOf(columns[i])])));
  }
  return rows;
}

/** The GPUs of a `--query-gpu` answer for `fields` (GPU_QUERY_FIELDS, or fewer of them). */
export function parseGpuQuery(csv: string, fields: readonly string[] = GPU_QUERY_FIELDS): QueriedGpu[] {
  const gpus: QueriedGpu[] = [];
  for (const line of csv.split('\n')) {
    const columns = columnsOf(line, fields);
    if (columns === null) continue;
    const get = (field: GpuQueryField): string | null => valueOf(columns[fields.indexOf(field)]);
    const index = get('index');
    const uuid = get('uuid');
    if (index === null || !/^\d+$/.test(index) || uuid === null) continue;
    const memory = Number.parseInt(get('memory.total') ?? '', 10);
    const computeCapability = get('compute_cap');
    gpus.push({
      device: {
        index: Number(index),
        uuid,
        pciBusId: get('pci.bus_id'),
        name: get('name') ?? '',
        memoryMiB: Number.isFinite(memory) ? memory : null,
        computeCapability:
          computeCapability !== null && /^\d+\.\d+$/.test(computeCapability) ? computeCapability : null,
        migMode: migModeOf(get('mig.mode.current')),
      },
      driverVersion: get('driver_version'),
    });
  }
  return gpus;
}

/**
 * The CUDA version in plain `nvidia-smi`'s header (`CUDA Version: 12.4`), `-q` (`CUDA Version   :
 * 12.4`) or `--version`; null when it names none (`N/A`) or is not there.
 */
export function parseCudaVersion(text: string): string | null {
  return /CUDA Version\s*:\s*(\d+(?:\.\d+)*)/i.exec(text)?.[1] ?? null;
}

/** The field nvidia-smi refused (`Field "compute_cap" is not a valid field to query.`), if it did. */
export function refusedField(output: string): string | null {
  return /Field "([^"]+)" is not a valid field to query/.exec(output)?.[1] ?? null;
}
