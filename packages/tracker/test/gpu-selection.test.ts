// GPUFLEET_GPUS names GPUs by index or UUID, mixed: a UUID is resolved to its index through the
// inventory at start, and a UUID no GPU has (or one nvidia-smi could not look up) is refused with
// the other bad settings, naming GPUFLEET_GPUS and the UUID. The tracker publishes the inventory of
// the GPUs it uses in the registry; without GPUFLEET_GPUS it uses every GPU listed, and none (a CPU
// tracker, saying why) when nvidia-smi fails. MIG devices are refused.
import { describe, expect, it } from 'vitest';
import { ConfigError, listTrackers, silentLogger, type TrackerInfo } from '@gpufleet/core';
import {
  DRIVER_NOT_LOADED,
  fakeGpu,
  installFakeNvidiaSmi,
  uniquePrefix,
  useRedis,
  useTempDirs,
  type FakeNvidiaSmi,
  type FakeNvidiaSmiState,
} from '@gpufleet/testkit';
import { createTracker, loadTrackerConfig, type Tracker } from '@gpufleet/tracker';
import { FIXTURE_EXECUTERS, useTrackers } from './helpers/fleet.js';

const redis = useRedis();
const temp = useTempDirs();
const trackers = useTrackers();

const GPUS = [fakeGpu('H100', 0), fakeGpu('H100', 1), fakeGpu('A100-80GB', 2, { migMode: 'Enabled' })];
const [GPU0, GPU1, GPU2] = GPUS as [(typeof GPUS)[0], (typeof GPUS)[0], (typeof GPUS)[0]];
const MACHINE: FakeNvidiaSmiState = { driverVersion: '550.54.15', cudaVersion: '12.4', gpus: GPUS };
const UNKNOWN = 'GPU-deadbeef-0000-4000-8000-000000000000';

async function fake(state: FakeNvidiaSmiState = MACHINE): Promise<FakeNvidiaSmi> {
  return installFakeNvidiaSmi(await temp.make(), state);
}

/** A tracker built from its environment, as the bin builds it, reading GPUs with `smi`. */
async function build(smi: FakeNvidiaSmi, gpus: string | undefined): Promise<Tracker> {
  const dir = await temp.make();
  const config = loadTrackerConfig(
    {
      REDIS_URL: redis.server.url,
      GPUFLEET_PREFIX: uniquePrefix(),
      GPUFLEET_EXECUTERS: FIXTURE_EXECUTERS,
      GPUFLEET_WORKDIR: dir,
      ARTIFACT_STORE: dir,
      GPUFLEET_TASK_INIT: 'off',
      ...(gpus === undefined ? {} : { GPUFLEET_GPUS: gpus }),
    },
    dir,
  );
  const tracker = await createTracker(config, silentLogger(), { nvidiaSmi: smi.command });
  trackers.push(tracker);
  return tracker;
}

/** What the tracker wrote in its queue's registry. */
async function registered(tracker: Tracker): Promise<TrackerInfo | undefined> {
  await tracker.start();
  const found = await listTrackers(redis.server.client(), tracker.keys);
  return found.find((t) => t.name === tracker.name);
}

async function refusal(smi: FakeNvidiaSmi, gpus: string): Promise<ConfigError> {
  const error: unknown = await build(smi, gpus).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('GPUFLEET_GPUS by UUID', () => {
  it('resolves UUIDs to indices, mixed with indices, and publishes those GPUs’ inventory', async () => {
    const tracker = await build(await fake(), `${GPU2.uuid}, 0`);
    expect(tracker.pool.gpuIds).toEqual([2, 0]);
    const info = await registered(tracker);
    expect(info?.gpus).toEqual([2, 0]);
    expect(info?.gpuInventory).toEqual({
      driverVersion: '550.54.15',
      cudaVersion: '12.4',
      error: null,
      gpus: [
        {
          index: 2,
          uuid: GPU2.uuid,
          pciBusId: '00000000:3A:00.0',
          name: 'NVIDIA A100-SXM4-80GB',
          memoryMiB: 81920,
          computeCapability: '8.0',
          migMode: 'enabled',
        },
        expect.objectContaining({ index: 0, uuid: GPU0.uuid, name: 'NVIDIA H100 80GB HBM3' }),
      ],
    });
  });

  it('matches a UUID whatever its case', async () => {
    const tracker = await build(await fake(), GPU1.uuid.toUpperCase());
    expect(tracker.pool.gpuIds).toEqual([1]);
  });

  it('refuses a UUID no GPU has, naming GPUFLEET_GPUS, the UUID and the GPUs there are', async () => {
    const error = await refusal(await fake(), `0,${UNKNOWN}`);
    expect(error.issues).toEqual([
      {
        field: 'GPUFLEET_GPUS',
        reason: `names ${UNKNOWN}, which no GPU of this machine has (nvidia-smi lists ${GPU0.uuid} (0), ${GPU1.uuid} (1), ${GPU2.uuid} (2))`,
      },
    ]);
  });

  it('refuses a UUID when nvidia-smi cannot list the GPUs, saying why', async () => {
    const smi = await fake({ ...MACHINE, fail: DRIVER_NOT_LOADED });
    const error = await refusal(smi, GPU0.uuid);
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.field).toBe('GPUFLEET_GPUS');
    expect(error.issues[0]?.reason).toMatch(
      new RegExp(`^names ${GPU0.uuid}, but the GPUs could not be listed to find it: .*exited with code 9`),
    );
  });

  it('refuses two entries naming the same GPU', async () => {
    const error = await refusal(await fake(), `1,${GPU1.uuid}`);
    expect(error.issues).toEqual([
      { field: 'GPUFLEET_GPUS', reason: `names GPU 1 twice (1 and ${GPU1.uuid})` },
    ]);
  });

  it('refuses MIG devices and what is neither an index nor a UUID, with the other bad settings', () => {
    let caught: unknown;
    try {
      loadTrackerConfig({
        GPUFLEET_EXECUTERS: FIXTURE_EXECUTERS,
        GPUFLEET_GPUS: 'MIG-0c9a5e2b-3f1d-5a7e-8b4c-2d6f1e9a3b70,GPU-12',
        LOG_LEVEL: 'loud',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const issues = (caught as ConfigError).issues;
    expect(issues.map((i) => i.field)).toEqual(['GPUFLEET_GPUS', 'GPUFLEET_GPUS', 'LOG_LEVEL']);
    expect(issues[0]?.reason).toBe(
      'names the MIG device MIG-0c9a5e2b-3f1d-5a7e-8b4c-2d6f1e9a3b70: a task gets whole GPUs; name the GPU by index or by its GPU- UUID',
    );
    expect(issues[1]?.reason).toMatch(/^must be a comma-separated list of GPU indices \(0,1,3\) or UUIDs/);
  });
});

describe('the published inventory', () => {
  it('without GPUFLEET_GPUS: every GPU nvidia-smi lists', async () => {
    const info = await registered(await build(await fake(), undefined));
    expect(info?.gpus).toEqual([0, 1, 2]);
    expect(info?.gpuInventory?.gpus.map((g) => g.uuid)).toEqual([GPU0.uuid, GPU1.uuid, GPU2.uuid]);
  });

  it('when nvidia-smi fails: a CPU tracker, with why in its inventory', async () => {
    const smi = await fake({ ...MACHINE, fail: DRIVER_NOT_LOADED });
    const tracker = await build(smi, undefined);
    expect(tracker.pool.gpuIds).toEqual([]);
    expect(tracker.pool.cpuSlots).toBeGreaterThan(0);
    const info = await registered(tracker);
    expect(info?.gpuInventory).toMatchObject({
      gpus: [],
      error: expect.stringContaining('exited with code 9'),
    });
  });

  it('with GPUFLEET_GPUS=none: nvidia-smi is not asked and nothing is published', async () => {
    const smi = await fake();
    const info = await registered(await build(smi, 'none'));
    expect(info?.gpus).toEqual([]);
    expect(info).not.toHaveProperty('gpuInventory');
    expect(await smi.calls()).toEqual([]);
  });

  it('indices nvidia-smi does not list: used as given, without inventory entries', async () => {
    const info = await registered(await build(await fake(), '1,7'));
    expect(info?.gpus).toEqual([1, 7]);
    expect(info?.gpuInventory?.gpus.map((g) => g.index)).toEqual([1]);
  });
});
