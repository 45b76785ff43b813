// A tracker's GPU usage, against a fake nvidia-smi whose answers the test changes while it runs:
// the latest sample of its own GPUs goes into its registry entry at each heartbeat (gone while
// sampling fails, which it logs once); no sampling without GPUs or when the inventory could not be
// read; and a task records, when it ends, its peak GPU memory (the highest per-sample sum over its
// GPUs) and its mean utilisation (over its samples and its GPUs) from the samples taken while it ran.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  enqueue,
  listTrackers,
  silentLogger,
  waitForTaskEnd,
  type GpuStats,
  type Logger,
  type TrackerInfo,
} from '@gpufleet/core';
import {
  DRIVER_NOT_LOADED,
  fakeGpu,
  installFakeNvidiaSmi,
  uniquePrefix,
  useRedis,
  useTempDirs,
  waitFor,
  type FakeGpu,
  type FakeNvidiaSmi,
  type FakeNvidiaSmiState,
} from '@gpufleet/testkit';
import type { Tracker } from '@gpufleet/tracker';
import { startFakeGpuTracker } from './helpers/fake-gpu-tracker.js';
import { useTrackers } from './helpers/fleet.js';
import { nextEvent } from './helpers/tracker-events.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();

const GPUS = [fakeGpu('H100', 0), fakeGpu('H100', 1), fakeGpu('A100-80GB', 2)];
const MACHINE: FakeNvidiaSmiState = { driverVersion: '550.54.15', cudaVersion: '12.4', gpus: GPUS };

/** The machine with each GPU's usage: index → [utilisation %, memory used MiB]. */
function using(usage: Record<number, [number, number]>, more: Partial<FakeGpu> = {}): FakeNvidiaSmiState {
  return {
    ...MACHINE,
    gpus: GPUS.map((gpu, index) => {
      const [utilizationGpu, memoryUsedMiB] = usage[index] ?? [0, 0];
      return { ...gpu, utilizationGpu, memoryUsedMiB, ...more };
    }),
  };
}

/** An executer that holds its two GPUs until the file `release` exists. */
async function holdExecuter(): Promise<string> {
  const dir = await temp.make();
  await writeFile(
    join(dir, 'hold.mjs'),
    "import { existsSync } from 'node:fs';\n" +
      'while (!existsSync(process.argv[2])) await new Promise((resolve) => setTimeout(resolve, 20));\n',
  );
  await writeFile(
    join(dir, 'executer.json'),
    JSON.stringify({
      name: 'hold',
      version: '1.0.0',
      description: 'Test executer: holds its GPUs until a file exists',
      command: ['node', '{executerDir}/hold.mjs', '{param.release}'],
      params: {
        type: 'object',
        properties: { release: { type: 'string' } },
        required: ['release'],
        additionalProperties: false,
      },
      resources: { gpus: 2, timeLimitMs: 60_000 },
    }),
  );
  return dir;
}

/** A tracker built from its environment, as the bin builds it, reading its GPUs with `smi`. */
async function build(
  smi: FakeNvidiaSmi,
  env: Record<string, string>,
  logger: Logger = silentLogger(),
): Promise<Tracker> {
  const executers = await holdExecuter();
  const { tracker } = await startFakeGpuTracker({
    redis: redis.server,
    temp,
    trackers,
    smi,
    logger,
    env: {
      GPUFLEET_EXECUTERS: executers,
      GPUFLEET_GPU_SAMPLE_MS: '50',
      GPUFLEET_HEARTBEAT_MS: '100',
      ...env,
    },
  });
  return tracker;
}

/** What the tracker last wrote in its queue's registry. */
async function registered(tracker: Tracker): Promise<TrackerInfo | undefined> {
  return (await listTrackers(redis.server.client(), tracker.keys)).find((t) => t.name === tracker.name);
}

/** The first registry entry of `tracker` whose sample passes `match`. */
async function published(
  tracker: Tracker,
  match: (stats: GpuStats) => boolean,
  message: string,
): Promise<GpuStats> {
  return waitFor(
    async () => {
      const stats = (await registered(tracker))?.gpuStats;
      return stats && match(stats) && stats;
    },
    { message },
  );
}

/** Waits until the registry's heartbeat moved on `beats` times. */
async function heartbeats(tracker: Tracker, beats: number): Promise<void> {
  for (let i = 0; i < beats; i++) {
    const at = (await registered(tracker))?.heartbeatAt ?? 0;
    await waitFor(async () => ((await registered(tracker))?.heartbeatAt ?? 0) > at, {
      message: 'a heartbeat',
    });
  }
}

const memoryOf = (stats: GpuStats, index: number): number | null | undefined =>
  stats.gpus.find((g) => g.index === index)?.memoryUsedMiB;

describe('a tracker’s GPU usage', () => {
  it('publishes the latest sample of its own GPUs at each heartbeat, and none while sampling fails', async () => {
    const smi = await installFakeNvidiaSmi(
      await temp.make(),
      using({ 0: [5, 500], 1: [73, 12_345], 2: [11, 2048] }, { temperatureC: 65, powerW: 312.5 }),
    );
    const lines: Array<{ level: number; msg: string; cause?: string; tracker?: string }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const tracker = await build(smi, { GPUFLEET_GPUS: '1,2' }, logger);
    const first = await published(tracker, () => true, 'a sample in the registry');
    expect(first.gpus).toEqual([
      { index: 1, utilizationPercent: 73, memoryUsedMiB: 12_345, temperatureC: 65, powerW: 312.5 },
      { index: 2, utilizationPercent: 11, memoryUsedMiB: 2048, temperatureC: 65, powerW: 312.5 },
    ]);
    // The answers change: the next heartbeats carry the new sample.
    await smi.setState(using({ 1: [90, 40_000], 2: [11, 2048] }));
    const next = await published(tracker, (s) => memoryOf(s, 1) === 40_000, 'the new sample');
    expect(next.at).toBeGreaterThan(first.at);
    expect(next.gpus[0]).toEqual({
      index: 1,
      utilizationPercent: 90,
      memoryUsedMiB: 40_000,
      temperatureC: 40,
      powerW: 70,
    });

    // nvidia-smi fails: the registry has no usage (rather than old figures), and it is logged once.
    await smi.setState({ ...MACHINE, fail: DRIVER_NOT_LOADED });
    await waitFor(async () => (await registered(tracker))?.gpuStats === undefined, { message: 'no sample' });
    const calls = (await smi.calls()).length;
    await waitFor(async () => (await smi.calls()).length >= calls + 5, { message: 'five more samples' });
    await heartbeats(tracker, 2);
    expect((await registered(tracker))?.gpuStats).toBeUndefined();
    const failed = lines.filter((l) => l.msg.startsWith('GPU usage sampling'));
    expect(failed).toEqual([
      expect.objectContaining({ level: 40, tracker: tracker.name, cause: expect.stringContaining('code 9') }),
    ]);
  });

  it('samples nothing without GPUs, or when the inventory could not be read', async () => {
    const none = await installFakeNvidiaSmi(await temp.make(), MACHINE);
    const cpu = await build(none, { GPUFLEET_GPUS: 'none' });
    await heartbeats(cpu, 3);
    expect(await none.calls()).toEqual([]);
    expect((await registered(cpu))?.gpuStats).toBeUndefined();

    // GPUs named by index, but nvidia-smi could not list them: the inventory's two calls, no sample.
    const broken = await installFakeNvidiaSmi(await temp.make(), { ...MACHINE, fail: DRIVER_NOT_LOADED });
    const blind = await build(broken, { GPUFLEET_GPUS: '0,1' });
    expect(blind.pool.gpuIds).toEqual([0, 1]);
    await heartbeats(blind, 3);
    expect(await broken.calls()).toHaveLength(2);
    expect((await registered(blind))?.gpuStats).toBeUndefined();

    // GPUFLEET_GPU_SAMPLE_MS=0: sampling off.
    const off = await installFakeNvidiaSmi(await temp.make(), MACHINE);
    // (The occupancy and health checks off too: they run nvidia-smi of their own, gpu/.)
    const quiet = { GPUFLEET_GPU_CHECK_MS: '0', GPUFLEET_GPU_SETTLE_MS: '0', GPUFLEET_GPU_HEALTH_MS: '0' };
    const unsampled = await build(off, { GPUFLEET_GPUS: '0', GPUFLEET_GPU_SAMPLE_MS: '0', ...quiet });
    await heartbeats(unsampled, 3);
    expect(await off.calls()).toHaveLength(2);
  });

  it('records a task’s peak GPU memory and mean utilisation from the samples of its GPUs', async () => {
    // Three phases while the task holds GPUs 0 and 1. Memory sums 4000, 6000, 3000: the peak is
    // 6000 (the per-GPU peaks, 3000 and 5000, would add up to 8000). Each sample's utilisation
    // averages 40 over the two GPUs, whatever number of samples each phase gets. GPU 2, busy
    // throughout, is not the tracker's and counts for nothing.
    const phases: Array<Record<number, [number, number]>> = [
      { 0: [20, 3000], 1: [60, 1000], 2: [100, 70_000] },
      { 0: [10, 1000], 1: [70, 5000], 2: [100, 70_000] },
      { 0: [50, 1000], 1: [30, 2000], 2: [100, 70_000] },
    ];
    const phase = (i: number): FakeNvidiaSmiState => using(phases[i] ?? {});
    const smi = await installFakeNvidiaSmi(await temp.make(), phase(0));
    const prefix = uniquePrefix();
    const tracker = await build(smi, { GPUFLEET_GPUS: '0,1', GPUFLEET_PREFIX: prefix });
    const client = redis.server.client();
    const release = join(await temp.make(), 'release');
    const spawned = nextEvent(tracker, 'spawned');
    const { id } = await enqueue(
      { redis: client, prefix },
      { executer: 'hold', gpus: 2, params: { release } },
    );
    expect([...(await spawned).gpuIds].sort()).toEqual([0, 1]);
    // A sample stored after the spawn was seen (so after the task's meter began) in each phase.
    const running = Date.now();
    await published(tracker, (s) => s.at > running && memoryOf(s, 0) === 3000, 'a sample of phase 1');
    await smi.setState(phase(1));
    await published(tracker, (s) => memoryOf(s, 1) === 5000, 'a sample of phase 2');
    await smi.setState(phase(2));
    await published(tracker, (s) => memoryOf(s, 1) === 2000, 'a sample of phase 3');
    await writeFile(release, '');
    const task = await waitForTaskEnd(client, tracker.keys, id, { timeoutMs: 20_000 });
    expect(task.status).toBe('succeeded');
    expect(task.gpuPeakMemoryMiB).toBe(6000);
    expect(task.gpuMeanUtilizationPercent).toBe(40);
  });
});
