// `gpufleet trackers` on a real fleet whose tracker read its GPUs from a fake nvidia-smi (two H100s,
// an A100 in MIG mode, a T4) and was given three of them by UUID and index: the table shows each
// GPU's model, memory, compute capability and MIG mode under its tracker; `--json` gives all of
// the inventory (UUIDs, bus ids, driver and CUDA versions).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeGpu, installFakeNvidiaSmi, useRedis, useTempDirs } from '@gpufleet/testkit';
import type { TrackerList } from '../src/generated/api-types.js';
import { parseJson, runCli, startCliFleet, type CliFleet } from './helpers/cli-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
let fleet: CliFleet;

const GPUS = [
  fakeGpu('H100', 0),
  fakeGpu('H100', 1),
  fakeGpu('A100-80GB', 2, { migMode: 'Enabled' }),
  fakeGpu('T4', 3),
];

beforeAll(async () => {
  const smi = await installFakeNvidiaSmi(await temp.make(), {
    driverVersion: '550.54.15',
    cudaVersion: '12.4',
    gpus: GPUS,
  });
  fleet = await startCliFleet(redis.server, temp, {
    nvidiaSmi: smi.command,
    gpus: `0,${GPUS[2]?.uuid},${GPUS[3]?.uuid}`,
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
    expect(stdout).toMatch(/^TRACKER +GPU +MODEL +MEMORY +COMPUTE +MIG +TASK$/m);
    expect(stdout).toMatch(
      new RegExp(`^${name} +0 +NVIDIA H100 80GB HBM3 +81559 MiB +9\\.0 +disabled +-$`, 'm'),
    );
    expect(stdout).toMatch(
      new RegExp(`^${name} +2 +NVIDIA A100-SXM4-80GB +81920 MiB +8\\.0 +enabled +-$`, 'm'),
    );
    expect(stdout).toMatch(new RegExp(`^${name} +3 +Tesla T4 +15360 MiB +7\\.5 +- +-$`, 'm'));
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
});
