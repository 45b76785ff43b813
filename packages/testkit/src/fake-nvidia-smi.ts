/**
 * A fake `nvidia-smi` for machines without a GPU: an executable Node script (its program is in
 * fake-nvidia-smi-script.ts) that answers from a JSON state the test writes and changes, the way
 * the real one answers (driver 550): CSV queries of GPUs and compute processes, the table, `-q`,
 * `-L` and `--version`, unknown fields refused as the real one refuses them, a driver that fails or
 * hangs, and a GPU that fell off the bus (`lost`) or counts uncorrectable ECC errors. `fakeGpu()`
 * makes GPUs of real models with the figures the real one reports.
 *
 * @example
 * const smi = await installFakeNvidiaSmi(await temp.make(), {
 *   driverVersion: '550.54.15',
 *   cudaVersion: '12.4',
 *   gpus: [fakeGpu('H100', 0), fakeGpu('A100-80GB', 1, { migMode: 'Enabled' })],
 * });
 * await execa(smi.command, ['--query-gpu=index,name', '--format=csv,noheader']);
 * // or a child process with PATH: smi.path() finds it as `nvidia-smi`
 */
import { appendFile, chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { FAKE_NVIDIA_SMI_SCRIPT } from './fake-nvidia-smi-script.js';

/** A MIG device of a GPU in MIG mode (listed by `-L`). */
export interface FakeMigDevice {
  /** `MIG-` and a UUID. */
  uuid: string;
  /** The GPU instance profile: `1g.10gb`. */
  profile: string;
}

/** A process using a GPU (`--query-compute-apps`). */
export interface FakeComputeApp {
  pid: number;
  processName: string;
  usedMemoryMiB: number;
  /** The GPU it runs on. */
  gpuUuid: string;
}

export interface FakeGpu {
  /** `GPU-` and a UUID. */
  uuid: string;
  /** `00000000:3B:00.0`: the fake numbers GPUs in the order of these, as the real one does. */
  pciBusId: string;
  name: string;
  memoryTotalMiB: number;
  /** `9.0`; null (or absent): the GPU reports none, `[N/A]`. */
  computeCap?: string | null;
  /** null (or absent): a GPU without MIG, `[N/A]`. */
  migMode?: 'Enabled' | 'Disabled' | null;
  /** The mode after the next reset; default the current one. */
  migModePending?: 'Enabled' | 'Disabled' | null;
  migDevices?: FakeMigDevice[];
  /** Default: what its compute apps use. */
  memoryUsedMiB?: number;
  /** Percent; default 0; null: `[N/A]`. */
  utilizationGpu?: number | null;
  /** `temperature.gpu`, °C; default 40; null: `[N/A]`. */
  temperatureC?: number | null;
  /** `power.draw`, W (printed with two decimals, as the real one prints it); default 70; null: `[N/A]`. */
  powerW?: number | null;
  /**
   * `ecc.errors.uncorrected.volatile.total`: uncorrectable ECC errors since the driver loaded;
   * default 0; null: `[N/A]` (a GPU without ECC, or with ECC off).
   */
  eccUncorrectedVolatile?: number | null;
  /**
   * It fell off the bus: it keeps its index, but a GPU query prints, in place of its row, what the
   * real one prints for a GPU it cannot reach (`Unable to determine the device handle for
   * GPU0000:3B:00.0: Unknown Error`) and, after the other rows, exits 15 (the code the real one's
   * manual gives a lost GPU; not checked on a real one); `-L` likewise; its processes are not listed.
   */
  lost?: boolean;
  /** Query field → the answer printed as is, over the above (`{ compute_cap: '[Field not supported]' }`). */
  raw?: Record<string, string>;
}

/** What the fake answers; written as JSON to its state file. */
export interface FakeNvidiaSmiState {
  driverVersion: string;
  /** The header's `CUDA Version`; null: `N/A`. */
  cudaVersion: string | null;
  gpus: FakeGpu[];
  computeApps?: FakeComputeApp[];
  /** Query fields this driver does not know (an older driver): asking for one fails, exit code 2. */
  unknownFields?: string[];
  /** Every call prints `stdout` and exits `exitCode` (a driver that is not loaded: 9). */
  fail?: { exitCode: number; stdout: string };
  /** Every call answers after this long (a hung driver). */
  delayMs?: number;
}

/** What the real one prints, exit code 9, when the kernel driver is not loaded. */
export const DRIVER_NOT_LOADED = {
  exitCode: 9,
  stdout:
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n\n",
};

/** Real models, with the name, total memory (MiB) and compute capability nvidia-smi reports. */
export const FAKE_GPU_MODELS = {
  H100: { name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, computeCap: '9.0' },
  'A100-80GB': { name: 'NVIDIA A100-SXM4-80GB', memoryTotalMiB: 81920, computeCap: '8.0' },
  'A100-40GB': { name: 'NVIDIA A100-SXM4-40GB', memoryTotalMiB: 40960, computeCap: '8.0' },
  L4: { name: 'NVIDIA L4', memoryTotalMiB: 23034, computeCap: '8.9' },
  T4: { name: 'Tesla T4', memoryTotalMiB: 15360, computeCap: '7.5' },
  V100: { name: 'Tesla V100-SXM2-16GB', memoryTotalMiB: 16160, computeCap: '7.0' },
} as const;

export type FakeGpuModel = keyof typeof FAKE_GPU_MODELS;

/** A GPU of `model` in PCI slot `slot`, with a UUID and bus id of its own (the same for the same slot). */
/** A machine with these GPUs and a current driver (550.54.15, CUDA 12.4): the state most tests want. */
export function fakeMachine(gpus: FakeGpu[], more: Partial<FakeNvidiaSmiState> = {}): FakeNvidiaSmiState {
  return { driverVersion: '550.54.15', cudaVersion: '12.4', gpus, ...more };
}

export function fakeGpu(model: FakeGpuModel, slot: number, overrides: Partial<FakeGpu> = {}): FakeGpu {
  if (!Number.isInteger(slot) || slot < 0 || slot > 13) throw new RangeError(`slot ${slot}: 0 to 13`);
  const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');
  const seed = hex(0x5c3a0000 + slot * 0x1111, 8);
  return {
    ...FAKE_GPU_MODELS[model],
    uuid: `GPU-${seed}-${hex(slot, 4)}-4e1d-9a7b-${hex(0xc0ffee000000 + slot, 12)}`,
    pciBusId: `00000000:${hex(0x18 + slot * 0x11, 2).toUpperCase()}:00.0`,
    migMode: model === 'H100' || model.startsWith('A100') ? 'Disabled' : null,
    ...overrides,
  };
}

export interface FakeNvidiaSmi {
  /** The folder holding the `nvidia-smi` executable (and its state and call log). */
  readonly dir: string;
  /** The executable's path. */
  readonly command: string;
  readonly stateFile: string;
  /** `dir` first, then `base`: a PATH on which `nvidia-smi` is the fake (node must be on it too). */
  path(base?: string): string;
  /** Replaces the state; the next call answers from it. */
  setState(state: FakeNvidiaSmiState): Promise<void>;
  /** The arguments of each call so far, oldest first. */
  calls(): Promise<string[][]>;
}

/** Writes the fake `nvidia-smi` and its state into `dir` (an empty temp folder). */
export async function installFakeNvidiaSmi(dir: string, state: FakeNvidiaSmiState): Promise<FakeNvidiaSmi> {
  const command = join(dir, 'nvidia-smi');
  const stateFile = join(dir, 'nvidia-smi-state.json');
  const callsFile = join(dir, 'nvidia-smi-calls.ndjson');
  // The script is CommonJS, whatever package.json a folder above says.
  await writeFile(join(dir, 'package.json'), '{ "type": "commonjs" }\n');
  await writeFile(command, `#!/usr/bin/env node${FAKE_NVIDIA_SMI_SCRIPT}`);
  await chmod(command, 0o755);
  await appendFile(callsFile, '');
  const setState = async (next: FakeNvidiaSmiState): Promise<void> => {
    const temp = `${stateFile}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(next, null, 2));
    await rename(temp, stateFile);
  };
  await setState(state);
  return {
    dir,
    command,
    stateFile,
    path: (base = process.env['PATH'] ?? '') => (base === '' ? dir : `${dir}${delimiter}${base}`),
    setState,
    async calls() {
      const text = await readFile(callsFile, 'utf8');
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as string[]);
    },
  };
}
