// `gpufleet trackers` on a real fleet whose tracker read its GPUs from a fake nvidia-smi (two H100s,
// an A100 in MIG mode, a T4) and was given three of them by UUID and index: the table shows each
// GPU's model, memory, compute capability and MIG mode under its tracker; `--json` gives all of
// the inventory (UUIDs, bus ids, driver and CUDA versions). Its usage as the tracker last sampled
// it (memory used, utilisation) is in the table too, and `gpufleet status` of a GPU task shows the
// task's peak GPU memory and mean utilisation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fakeGpu,
  fakeMachine,
  installFakeNvidiaSmi,
  useRedis,
  useTempDirs,
  waitFor,
  type FakeNvidiaSmi,
} from '@gpufleet/testkit';
import type { TaskView, TrackerList } from '../src/generated/api-types.js';
import { parseJson, runCli, startCliFleet, type CliFleet } from './helpers/cli-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
let fleet: CliFleet;
let smi: FakeNvidiaSmi;

const GPUS = [
  fakeGpu('H100', 0),
  fakeGpu('H100', 1),
  fakeGpu('A100-80GB', 2, { migMode: 'Enabled' }),
  fakeGpu('T4', 3),
];

beforeAll(async () => {
  smi = await installFakeNvidiaSmi(await temp.make(), {
    driverVersion: '550.54.15',
    cudaVersion: '12.4',
    gpus: GPUS,
  });
  fleet = await startCliFleet(redis.server, temp, {
    nvidiaSmi: smi.command,
    gpus: `0,${GPUS[2]?.uuid},${GPUS[3]?.uuid}`,
    gpuSampleMs: 50,
    // The usage tests report GPUs with up to 12,345 MiB in use and no process: not busy here, so
    // that a task always finds one (gpu-occupancy.ts holds a free GPU above this back).
    trackerEnv: { GPUFLEET_GPU_BUSY_MEMORY_MIB: '100000', GPUFLEET_GPU_CHECK_MS: '50' },
  });
});
afterAll(async () => {
  await fleet?.close();
});

describe('gpufleet trackers', () => {
  it('shows each GPU’s model and memory under its tracker', async () => {
    const { code, stdout } = await runCli(['trackers'], { env: fleet.env });
    expect(code).toBe(0);
    const name = fleet.tracker.name;
    expect(stdout).toMatch(/^TRACKER +GPU +MODEL +MEMORY +MEM USED +UTIL +COMPUTE +MIG +TASK$/m);
    // MEM USED and UTIL: '-' until the tracker's first sample is published.
    const usage = '(?:\\d+ MiB|-) +(?:\\d+%|-)';
    expect(stdout).toMatch(
      new RegExp(`^${name} +0 +NVIDIA H100 80GB HBM3 +81559 MiB +${usage} +9\\.0 +disabled +-$`, 'm'),
    );
    expect(stdout).toMatch(
      new RegExp(`^${name} +2 +NVIDIA A100-SXM4-80GB +81920 MiB +${usage} +8\\.0 +enabled +-$`, 'm'),
    );
    expect(stdout).toMatch(new RegExp(`^${name} +3 +Tesla T4 +15360 MiB +${usage} +7\\.5 +- +-$`, 'm'));
    expect(stdout).not.toMatch(new RegExp(`^${name} +1 `, 'm'));
  });

  it('gives the whole inventory with --json', async () => {
    const list = parseJson<TrackerList>(await runCli(['trackers', '--json'], { env: fleet.env }));
    const [tracker] = list.trackers;
    expect(tracker?.inventory).toEqual({ driverVersion: '550.54.15', cudaVersion: '12.4', error: null });
    expect(tracker?.gpus.map((g) => [g.id, g.device?.uuid, g.device?.pciBusId])).toEqual([
      [0, GPUS[0]?.uuid, '00000000:18:00.0'],
      [2, GPUS[2]?.uuid, '00000000:3A:00.0'],
      [3, GPUS[3]?.uuid, '00000000:4B:00.0'],
    ]);
  });

  it('shows each GPU’s memory used and utilisation as its tracker last sampled them', async () => {
    await smi.setState({
      driverVersion: '550.54.15',
      cudaVersion: '12.4',
      gpus: GPUS.map((gpu, i) => (i === 2 ? { ...gpu, memoryUsedMiB: 12_345, utilizationGpu: 73 } : gpu)),
    });
    const name = fleet.tracker.name;
    const row = new RegExp(
      `^${name} +2 +NVIDIA A100-SXM4-80GB +81920 MiB +12345 MiB +73% +8\\.0 +enabled +-$`,
      'm',
    );
    await waitFor(async () => row.test((await runCli(['trackers'], { env: fleet.env })).stdout), {
      message: 'GPU 2’s sample in the table',
    });
    const list = parseJson<TrackerList>(await runCli(['trackers', '--json'], { env: fleet.env }));
    const gpu = list.trackers[0]?.gpus.find((g) => g.id === 2);
    expect(gpu?.usage).toMatchObject({
      utilizationPercent: 73,
      memoryUsedMiB: 12_345,
      temperatureC: 40,
      powerW: 70,
    });
  });
});

describe('gpufleet trackers and foreign processes', () => {
  it('shows a GPU another process uses as busy, naming the process and its memory', async () => {
    const t4 = GPUS[3];
    if (!t4) throw new Error('no T4');
    const python = { pid: 4242, processName: 'python', usedMemoryMiB: 3000, gpuUuid: t4.uuid };
    await smi.setState(fakeMachine(GPUS, { computeApps: [python] }));
    const row = new RegExp(
      `^${fleet.tracker.name} +3 +Tesla T4 .* busy: python \\(pid 4242, 3000 MiB\\)$`,
      'm',
    );
    await waitFor(async () => row.test((await runCli(['trackers'], { env: fleet.env })).stdout), {
      message: 'GPU 3 shown busy in the table',
    });
    const list = parseJson<TrackerList>(await runCli(['trackers', '--json'], { env: fleet.env }));
    expect(list.trackers[0]?.gpus.find((g) => g.id === 3)?.hold).toEqual({
      kind: 'busy',
      reason: 'used by a process this tracker did not start: python (pid 4242, 3000 MiB)',
      processes: [{ pid: 4242, name: 'python', memoryMiB: 3000 }],
    });
    await smi.setState(fakeMachine(GPUS));
    await waitFor(
      async () =>
        parseJson<TrackerList>(
          await runCli(['trackers', '--json'], { env: fleet.env }),
        ).trackers[0]?.gpus.every((g) => g.hold === null),
      { message: 'GPU 3 free again' },
    );
  });
});

describe('gpufleet status and GPU usage', () => {
  it('shows a GPU task’s peak GPU memory and mean utilisation once it ended', async () => {
    // Every GPU of the tracker reports the same, whichever the task gets.
    await smi.setState({
      driverVersion: '550.54.15',
      cudaVersion: '12.4',
      gpus: GPUS.map((gpu) => ({ ...gpu, memoryUsedMiB: 2048, utilizationGpu: 55 })),
    });
    const submitted = await runCli(['submit', 'probe', '--param', 'sleepMs=1000', '--wait', '--json'], {
      env: fleet.env,
    });
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = parseJson<{ tasks: Array<{ id: string }> }>(submitted).tasks[0]?.id ?? '';
    const { code, stdout } = await runCli(['status', id], { env: fleet.env });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^gpu usage: +peak memory 2048 MiB, mean utilisation 55%$/m);
    const view = parseJson<TaskView>(await runCli(['status', id, '--json'], { env: fleet.env }));
    expect(view).toMatchObject({
      status: 'succeeded',
      gpuPeakMemoryMiB: 2048,
      gpuMeanUtilizationPercent: 55,
    });
  });
});
