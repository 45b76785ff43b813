/**
 * The machine's NVIDIA GPUs, read once at start with `nvidia-smi`: index, UUID, PCI bus id, model,
 * total memory, driver and CUDA versions, compute capability and MIG mode.
 *
 * Why nvidia-smi and not NVML. NVIDIA says nvidia-smi's output is not guaranteed to stay the same
 * across driver releases and NVML's API is. But NVIDIA publishes NVML bindings for C, Python and Go
 * only; for Node there are small community packages (node-gyp addons, FFI through koffi), none
 * maintained by NVIDIA, each a native dependency to vet, build for every platform and keep up, and
 * a native library loaded into the tracker can take it down where a child process cannot. So the
 * tracker uses the part of nvidia-smi NVIDIA documents for scripts: `--query-gpu=FIELDS
 * --format=csv,noheader,nounits` (fields by name, in the order asked: `nvidia-smi
 * --help-query-gpu`), never the human-readable table. The CUDA version is no query field: it comes
 * from the table's header line (`CUDA Version: 12.4`) by a tolerant pattern, null when absent.
 *
 * Old drivers: a field the driver does not know makes nvidia-smi refuse the whole query (exit 2,
 * `Field "compute_cap" is not a valid field to query.`); an optional field is then left out and the
 * query asked again, and it is null (as is every `[N/A]` or `[Field not supported]` answer).
 * No nvidia-smi, one that fails (no driver loaded, no GPU) or one that does not answer within the
 * timeout: no GPUs, logged once with the cause, and `error` says why.
 */
import { execa, type Result } from 'execa';
import type { GpuInventory, Logger } from '@gpufleet/core';
import {
  GPU_QUERY_FIELDS,
  OPTIONAL_GPU_FIELDS,
  parseCudaVersion,
  parseGpuQuery,
  refusedField,
  type QueriedGpu,
} from './nvidia-smi-csv.js';

/** How long one nvidia-smi call may take (a driver in trouble can hang it). */
export const NVIDIA_SMI_TIMEOUT_MS = 10_000;

export interface ReadGpuInventoryOptions {
  logger: Logger;
  /** The nvidia-smi to run; default `nvidia-smi` on PATH. */
  command?: string;
  timeoutMs?: number;
}

type Run = (args: string[]) => Promise<Result>;

/** Why a call failed, in a sentence naming the command (the usage sampler's too). */
export function failureOf(command: string, result: Result, timeoutMs: number): string {
  if (result.timedOut) return `${command} did not answer within ${timeoutMs} ms`;
  if (result.code === 'ENOENT') return `${command} not found (no NVIDIA driver installed?)`;
  if (result.exitCode === undefined) return `${command} could not run: ${result.code ?? result.shortMessage}`;
  const said = `${String(result.stdout)}\n${String(result.stderr)}`.trim().split('\n')[0]?.trim();
  return `${command} exited with code ${result.exitCode}${said ? `: ${said}` : ''}`;
}

/** The query, asked again without each optional field the driver refuses. */
async function queryGpus(
  run: Run,
  describe: (result: Result) => string,
): Promise<{ gpus: QueriedGpu[] } | { error: string; missing: boolean }> {
  let fields: string[] = [...GPU_QUERY_FIELDS];
  for (;;) {
    const result = await run([`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits']);
    if (!result.failed) return { gpus: parseGpuQuery(String(result.stdout), fields) };
    const refused = result.exitCode === undefined ? null : refusedField(String(result.stdout));
    if (refused === null || !OPTIONAL_GPU_FIELDS.has(refused) || !fields.includes(refused)) {
      return { error: describe(result), missing: result.code === 'ENOENT' };
    }
    fields = fields.filter((field) => field !== refused);
  }
}

/** Every GPU nvidia-smi lists, by index; none (and `error`) when it cannot list them. */
export async function readGpuInventory(options: ReadGpuInventoryOptions): Promise<GpuInventory> {
  const command = options.command ?? 'nvidia-smi';
  const timeoutMs = options.timeoutMs ?? NVIDIA_SMI_TIMEOUT_MS;
  const run: Run = (args) => execa(command, args, { reject: false, timeout: timeoutMs });
  const [queried, header] = await Promise.all([
    queryGpus(run, (result) => failureOf(command, result, timeoutMs)),
    run([]),
  ]);
  if ('error' in queried) {
    // A machine without the NVIDIA driver is an ordinary CPU tracker; a driver that fails is news.
    options.logger[queried.missing ? 'info' : 'warn'](
      { cause: queried.error },
      'no GPUs: nvidia-smi could not list them',
    );
    return { driverVersion: null, cudaVersion: null, gpus: [], error: queried.error };
  }
  const gpus = queried.gpus.sort((a, b) => a.device.index - b.device.index);
  return {
    driverVersion: gpus.find((gpu) => gpu.driverVersion !== null)?.driverVersion ?? null,
    cudaVersion: header.failed ? null : parseCudaVersion(String(header.stdout)),
    gpus: gpus.map((gpu) => gpu.device),
    error: null,
  };
}
