// The GPU usage sampler against a fake nvidia-smi: it asks the documented CSV query for utilisation,
// memory used, temperature and power, keeps the tracker's own GPUs only (a row whose UUID is
// another GPU's is left out), reads [N/A] as null; a failure is logged once with its cause and not
// again until a sample works (logged as resumed), there is no latest sample meanwhile, it waits an
// interval between calls even when each fails at once, and close kills a call that hangs.
// GPUFLEET_GPU_SAMPLE_MS: 5 s by default, 0 off, a bad value refused at start naming it. A task's
// meter: peak of the per-sample sums of memory, mean over samples and GPUs.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError, type Logger } from '@gpufleet/core';
import {
  DRIVER_NOT_LOADED,
  fakeGpu,
  installFakeNvidiaSmi,
  useTempDirs,
  waitFor,
  type FakeNvidiaSmi,
  type FakeNvidiaSmiState,
} from '@gpufleet/testkit';
import {
  GPU_SAMPLE_FIELDS,
  GpuSampler,
  loadTrackerConfig,
  TaskGpuMeter,
  type GpuSamplerOptions,
} from '@gpufleet/tracker';

const temp = useTempDirs();

const GPUS = [
  fakeGpu('H100', 0, { memoryUsedMiB: 500, utilizationGpu: 5 }),
  fakeGpu('H100', 1, { memoryUsedMiB: 12_345, utilizationGpu: 73, temperatureC: 65, powerW: 312.5 }),
  fakeGpu('L4', 2, {
    memoryUsedMiB: 0,
    utilizationGpu: null,
    powerW: null,
    raw: { 'temperature.gpu': '[Not Supported]' },
  }),
];
const [GPU0, GPU1, GPU2] = GPUS as [(typeof GPUS)[0], (typeof GPUS)[0], (typeof GPUS)[0]];
const MACHINE: FakeNvidiaSmiState = { driverVersion: '550.54.15', cudaVersion: '12.4', gpus: GPUS };

interface LogLine {
  level: number;
  msg: string;
  cause?: string;
  after?: string;
}

function capture(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
  );
  return { logger, lines };
}

async function fake(state: FakeNvidiaSmiState = MACHINE): Promise<FakeNvidiaSmi> {
  return installFakeNvidiaSmi(await temp.make(), state);
}

function sampler(smi: FakeNvidiaSmi, logger: Logger, more: Partial<GpuSamplerOptions> = {}): GpuSampler {
  return new GpuSampler({
    gpus: [
      { index: 1, uuid: GPU1.uuid },
      { index: 2, uuid: GPU2.uuid },
    ],
    intervalMs: 100,
    logger,
    command: smi.command,
    ...more,
  });
}

describe('the GPU usage sampler', () => {
  it('reads utilisation, memory used, temperature and power of the tracker’s GPUs, [N/A] as null', async () => {
    const smi = await fake();
    const { logger, lines } = capture();
    const gpus = sampler(smi, logger);
    const before = Date.now();
    const stats = await gpus.sample();
    expect(stats?.at).toBeGreaterThanOrEqual(before);
    expect(stats?.gpus).toEqual([
      { index: 1, utilizationPercent: 73, memoryUsedMiB: 12_345, temperatureC: 65, powerW: 312.5 },
      { index: 2, utilizationPercent: null, memoryUsedMiB: 0, temperatureC: null, powerW: null },
    ]);
    expect(gpus.latest()).toEqual(stats);
    expect(await smi.calls()).toEqual([
      [`--query-gpu=${GPU_SAMPLE_FIELDS.join(',')}`, '--format=csv,noheader,nounits'],
    ]);
    expect(GPU_SAMPLE_FIELDS.join(',')).toBe(
      'index,uuid,utilization.gpu,memory.used,temperature.gpu,power.draw',
    );
    expect(lines).toEqual([]);
    // The fake's defaults for temperature and power: 40 °C, 70 W.
    const rest = await sampler(smi, logger, { gpus: [{ index: 0, uuid: GPU0.uuid }] }).sample();
    expect(rest?.gpus).toEqual([
      { index: 0, utilizationPercent: 5, memoryUsedMiB: 500, temperatureC: 40, powerW: 70 },
    ]);
  });

  it('leaves out a row whose UUID is not the one the inventory gave its index', async () => {
    const smi = await fake();
    const gpus = sampler(smi, capture().logger, {
      gpus: [
        { index: 0, uuid: GPU2.uuid },
        { index: 1, uuid: GPU1.uuid.toUpperCase() },
      ],
    });
    expect((await gpus.sample())?.gpus.map((g) => g.index)).toEqual([1]);
  });

  it('logs a failure once with its cause, again only after it recovered, and never spins', async () => {
    const smi = await fake({ ...MACHINE, fail: DRIVER_NOT_LOADED });
    const { logger, lines } = capture();
    const gpus = sampler(smi, logger, { intervalMs: 100 });
    const started = Date.now();
    gpus.start();
    gpus.start(); // safe twice: one loop
    await waitFor(async () => (await smi.calls()).length >= 4, { message: 'four samples' });
    // An interval between calls, though each fails at once.
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(gpus.latest()).toBeNull();
    const warned = lines.filter((l) => l.level === 40);
    expect(warned).toEqual([
      expect.objectContaining({
        msg: 'GPU usage sampling failed; no usage is published until it works again',
        cause: expect.stringMatching(/nvidia-smi exited with code 9: NVIDIA-SMI has failed/),
      }),
    ]);

    await smi.setState(MACHINE);
    await waitFor(() => gpus.latest(), { message: 'a sample once nvidia-smi works' });
    expect(lines.filter((l) => l.level === 30)).toEqual([
      expect.objectContaining({ msg: 'GPU usage sampling resumed', after: warned[0]?.cause }),
    ]);
    // Only the tracker's GPUs missing from the answer is a failure too, logged anew after the recovery.
    await smi.setState({ ...MACHINE, gpus: [GPU0] });
    await waitFor(() => gpus.latest() === null, { message: 'no sample once the GPUs are gone' });
    const calls = (await smi.calls()).length;
    await waitFor(async () => (await smi.calls()).length >= calls + 3, { message: 'three more samples' });
    expect(lines.filter((l) => l.level === 40).map((l) => l.cause)).toEqual([
      warned[0]?.cause,
      "nvidia-smi listed none of this tracker's GPUs (1,2)",
    ]);
    await gpus.close();
    const closed = (await smi.calls()).length;
    await new Promise((resolve) => setTimeout(resolve, 300)); // what a running loop would fill
    expect((await smi.calls()).length).toBe(closed);
  });

  it('gives up on a call that does not answer, and close kills the one under way', async () => {
    const smi = await fake({ ...MACHINE, delayMs: 20_000 });
    const { logger, lines } = capture();
    expect(await sampler(smi, logger, { timeoutMs: 300 }).sample()).toBeNull();
    expect(lines.map((l) => l.cause)).toEqual([`${smi.command} did not answer within 300 ms`]);

    const hung = sampler(smi, logger);
    hung.start();
    await waitFor(async () => (await smi.calls()).length >= 2, { message: 'a second call under way' });
    const closing = Date.now();
    await Promise.all([hung.close(), hung.close()]);
    expect(Date.now() - closing).toBeLessThan(5_000);
    expect(lines).toHaveLength(1); // a call killed at close is no failure
  });
});

describe('a task’s GPU meter', () => {
  const sample = (at: number, gpus: Array<[number, number | null, number | null]>) => ({
    at,
    gpus: gpus.map(([index, utilizationPercent, memoryUsedMiB]) => ({
      index,
      utilizationPercent,
      memoryUsedMiB,
      temperatureC: 50,
      powerW: 100,
    })),
  });

  it('peaks the per-sample sum of its GPUs’ memory and averages utilisation over samples and GPUs', () => {
    const meter = new TaskGpuMeter([0, 2]);
    expect(meter.usage()).toEqual({ peakMemoryMiB: null, meanUtilizationPercent: null });
    expect(meter.fields()).toEqual({ gpuPeakMemoryMiB: null, gpuMeanUtilizationPercent: null });
    meter.add(
      sample(1, [
        [0, 10, 3000],
        [1, 100, 70_000],
        [2, 20, 1000],
      ]),
    );
    meter.add(
      sample(2, [
        [0, 90, 1000],
        [1, 100, 70_000],
        [2, 60, 5000],
      ]),
    );
    meter.add(
      sample(3, [
        [0, 35, 1000],
        [2, null, null],
      ]),
    );
    // Sums 4000, 6000, 1000 (GPU 1 is another task's); per-GPU peaks would add up to 8000.
    // Utilisation (10 + 20 + 90 + 60 + 35) / 5.
    expect(meter.usage()).toEqual({ peakMemoryMiB: 6000, meanUtilizationPercent: 43 });
    expect(meter.fields()).toEqual({ gpuPeakMemoryMiB: 6000, gpuMeanUtilizationPercent: 43 });
  });

  it('follows a sampler until stopped', () => {
    let listener: ((stats: ReturnType<typeof sample>) => void) | null = null;
    const meter = new TaskGpuMeter([1]).follow({
      onSample: (l) => {
        listener = l;
        return () => (listener = null);
      },
    });
    listener!(sample(1, [[1, 33.33, 100]]));
    listener!(sample(2, [[1, 66.67, 200]]));
    meter.stop();
    meter.stop();
    expect(listener).toBeNull();
    expect(meter.usage()).toEqual({ peakMemoryMiB: 200, meanUtilizationPercent: 50 });
  });
});

describe('GPUFLEET_GPU_SAMPLE_MS', () => {
  const BASE = { GPUFLEET_EXECUTERS: '.' };

  it('is 5 s by default, 0 turns sampling off', () => {
    expect(loadTrackerConfig(BASE, '/srv').gpuSampleMs).toBe(5000);
    expect(loadTrackerConfig({ ...BASE, GPUFLEET_GPU_SAMPLE_MS: '250' }, '/srv').gpuSampleMs).toBe(250);
    expect(loadTrackerConfig({ ...BASE, GPUFLEET_GPU_SAMPLE_MS: '0' }, '/srv').gpuSampleMs).toBe(0);
  });

  it('refuses a bad value at start, naming the variable', () => {
    for (const value of ['often', '-1', '1.5', '10', '3600001']) {
      let error: unknown = null;
      try {
        loadTrackerConfig({ ...BASE, GPUFLEET_GPU_SAMPLE_MS: value }, '/srv');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues).toEqual([
        { field: 'GPUFLEET_GPU_SAMPLE_MS', reason: expect.stringContaining(value) },
      ]);
    }
  });
});
