// The tracker's GPU inventory, read from a fake nvidia-smi that answers as the real one: several
// models (H100s, an A100 in MIG mode, a T4 without MIG), an old driver that refuses compute_cap
// (asked again without it: null, the rest kept), answers the driver does not give ([N/A], [Field
// not supported]), the CUDA version from the table's header, and nvidia-smi missing, failing or
// hanging: no GPUs, logged once with the cause.
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Logger } from '@gpufleet/core';
import {
  DRIVER_NOT_LOADED,
  fakeGpu,
  installFakeNvidiaSmi,
  useTempDirs,
  type FakeNvidiaSmi,
  type FakeNvidiaSmiState,
} from '@gpufleet/testkit';
import { parseCudaVersion, parseGpuQuery, readGpuInventory } from '@gpufleet/tracker';

const temp = useTempDirs();

const H100 = [fakeGpu('H100', 0), fakeGpu('H100', 1)];
const A100 = fakeGpu('A100-80GB', 2, { migMode: 'Enabled' });
const T4 = fakeGpu('T4', 3);
const FLEET: FakeNvidiaSmiState = {
  driverVersion: '550.54.15',
  cudaVersion: '12.4',
  gpus: [T4, A100, ...H100],
};

interface LogLine {
  level: number;
  msg: string;
  cause?: string;
}

function capture(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
  );
  return { logger, lines };
}

async function fake(state: FakeNvidiaSmiState): Promise<FakeNvidiaSmi> {
  return installFakeNvidiaSmi(await temp.make(), state);
}

describe('the GPU inventory', () => {
  it('describes each GPU of several models, with the driver and CUDA versions', async () => {
    const smi = await fake(FLEET);
    const { logger, lines } = capture();
    const inventory = await readGpuInventory({ logger, command: smi.command });
    expect(inventory).toEqual({
      driverVersion: '550.54.15',
      cudaVersion: '12.4',
      error: null,
      gpus: [
        {
          index: 0,
          uuid: H100[0]?.uuid,
          pciBusId: '00000000:18:00.0',
          name: 'NVIDIA H100 80GB HBM3',
          memoryMiB: 81559,
          computeCapability: '9.0',
          migMode: 'disabled',
        },
        expect.objectContaining({ index: 1, uuid: H100[1]?.uuid, pciBusId: '00000000:29:00.0' }),
        {
          index: 2,
          uuid: A100.uuid,
          pciBusId: '00000000:3A:00.0',
          name: 'NVIDIA A100-SXM4-80GB',
          memoryMiB: 81920,
          computeCapability: '8.0',
          migMode: 'enabled',
        },
        {
          index: 3,
          uuid: T4.uuid,
          pciBusId: '00000000:4B:00.0',
          name: 'Tesla T4',
          memoryMiB: 15360,
          computeCapability: '7.5',
          migMode: null,
        },
      ],
    });
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
    // The documented CSV query, and the table for the CUDA version: nothing else.
    expect((await smi.calls()).sort()).toEqual(
      [
        [
          '--query-gpu=index,uuid,pci.bus_id,name,memory.total,driver_version,compute_cap,mig.mode.current',
          '--format=csv,noheader,nounits',
        ],
        [],
      ].sort(),
    );
  });

  it('asks an old driver again without the fields it refuses, which are then null', async () => {
    const smi = await fake({
      driverVersion: '470.223.02',
      cudaVersion: '11.4',
      gpus: [fakeGpu('V100', 0), fakeGpu('A100-40GB', 1)],
      unknownFields: ['compute_cap'],
    });
    const inventory = await readGpuInventory({ logger: capture().logger, command: smi.command });
    expect(inventory.error).toBeNull();
    expect(inventory.driverVersion).toBe('470.223.02');
    expect(inventory.cudaVersion).toBe('11.4');
    expect(inventory.gpus.map((g) => [g.name, g.memoryMiB, g.computeCapability, g.migMode])).toEqual([
      ['Tesla V100-SXM2-16GB', 16160, null, null],
      ['NVIDIA A100-SXM4-40GB', 40960, null, 'disabled'],
    ]);
    const queries = (await smi.calls()).filter((args) => args.length > 0).map((args) => args[0]);
    expect(queries).toEqual([
      '--query-gpu=index,uuid,pci.bus_id,name,memory.total,driver_version,compute_cap,mig.mode.current',
      '--query-gpu=index,uuid,pci.bus_id,name,memory.total,driver_version,mig.mode.current',
    ]);
    // Older still: neither optional field.
    await smi.setState({ ...FLEET, unknownFields: ['compute_cap', 'mig.mode.current'] });
    const oldest = await readGpuInventory({ logger: capture().logger, command: smi.command });
    expect(oldest.gpus).toHaveLength(4);
    expect(oldest.gpus.every((g) => g.computeCapability === null && g.migMode === null)).toBe(true);
  });

  it('takes what the driver does not report for null, and a CUDA version it does not name too', async () => {
    const smi = await fake({
      driverVersion: '550.54.15',
      cudaVersion: null,
      gpus: [
        { ...H100[0]!, raw: { compute_cap: '[Field not supported]', 'memory.total': '[N/A]' } },
        { ...A100, raw: { 'mig.mode.current': '[N/A]', 'pci.bus_id': '[Unknown Error]' } },
      ],
    });
    const inventory = await readGpuInventory({ logger: capture().logger, command: smi.command });
    expect(inventory.cudaVersion).toBeNull();
    expect(inventory.gpus).toEqual([
      expect.objectContaining({ index: 0, memoryMiB: null, computeCapability: null, migMode: 'disabled' }),
      expect.objectContaining({ index: 1, pciBusId: null, computeCapability: '8.0', migMode: null }),
    ]);
  });

  it('has no GPUs when nvidia-smi fails, is missing or hangs, and says why once', async () => {
    const failing = await fake({ ...FLEET, fail: DRIVER_NOT_LOADED });
    const failed = capture();
    const inventory = await readGpuInventory({ logger: failed.logger, command: failing.command });
    expect(inventory).toEqual({
      driverVersion: null,
      cudaVersion: null,
      gpus: [],
      error: expect.stringMatching(
        /^.*nvidia-smi exited with code 9: NVIDIA-SMI has failed because it couldn't communicate/,
      ),
    });
    expect(failed.lines.map((l) => [l.level, l.msg, l.cause])).toEqual([
      [40, 'no GPUs: nvidia-smi could not list them', inventory.error],
    ]);

    const absent = capture();
    const missing = join(await temp.make(), 'nvidia-smi');
    const none = await readGpuInventory({ logger: absent.logger, command: missing });
    expect(none.gpus).toEqual([]);
    expect(none.error).toBe(`${missing} not found (no NVIDIA driver installed?)`);
    expect(absent.lines.map((l) => [l.level, l.cause])).toEqual([[30, none.error]]);

    const hanging = await fake({ ...FLEET, delayMs: 20_000 });
    const hung = capture();
    const started = Date.now();
    const late = await readGpuInventory({ logger: hung.logger, command: hanging.command, timeoutMs: 500 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(late.gpus).toEqual([]);
    expect(late.error).toBe(`${hanging.command} did not answer within 500 ms`);
    expect(hung.lines.map((l) => l.cause)).toEqual([late.error]);
  });
});

describe('reading nvidia-smi', () => {
  it('keeps a name with a comma whole, and skips lines that are no GPU', () => {
    const fields = ['index', 'name', 'uuid', 'memory.total'];
    const csv = 'index, name, uuid, memory.total [MiB]\n0, Quadro RTX 8000, Rev B, GPU-1, 48601\n\n';
    expect(parseGpuQuery(csv, fields).map((g) => [g.device.index, g.device.name, g.device.uuid])).toEqual([
      [0, 'Quadro RTX 8000, Rev B', 'GPU-1'],
    ]);
  });

  it('finds the CUDA version in the table header, -q and --version', () => {
    const header = '| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2     |';
    expect(parseCudaVersion(header)).toBe('12.2');
    expect(parseCudaVersion('CUDA Version                              : 11.0\n')).toBe('11.0');
    expect(parseCudaVersion('CUDA Version        : 12.4\n')).toBe('12.4');
    expect(
      parseCudaVersion('| NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: N/A |'),
    ).toBeNull();
    expect(parseCudaVersion('')).toBeNull();
  });
});
