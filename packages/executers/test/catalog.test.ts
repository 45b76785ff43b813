// The catalog as a tracker sees it: CATALOG_DIR loads as one GPUFLEET_EXECUTERS path, every manifest
// is valid and points at a launcher that exists, script is opt-in, and noop (the benchmarks' executer)
// runs through a CPU tracker and succeeds with nothing but its logs.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExecuters } from '@gpufleet/core';
import { CATALOG_DIR } from '@gpufleet/executers';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { loadTrackerConfig } from '@gpufleet/tracker';
import { startCatalogFleet, type CatalogFleet } from './helpers/fleet.js';

const redis = useRedis();
const temp = useTempDirs();
let fleet: CatalogFleet;

beforeAll(async () => {
  fleet = await startCatalogFleet(redis, temp, { gpuIds: [] });
});

afterAll(async () => {
  await fleet.tracker.close();
});

describe('executer catalog', () => {
  it('loads every folder of CATALOG_DIR, with script only on opt-in', async () => {
    expect(isAbsolute(CATALOG_DIR)).toBe(true);
    const folders = (await readdir(CATALOG_DIR, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(folders.sort()).toEqual(['dualsphysics', 'noop', 'script', 'sim-server', 'sph']);
    const all = await loadExecuters([CATALOG_DIR], { allowOptIn: true });
    expect([...all.keys()].sort()).toEqual(folders.sort());
    for (const executer of all.values()) {
      expect(executer.dir).toBe(join(CATALOG_DIR, executer.manifest.name));
      const launcher = executer.manifest.command[1]?.replace('{executerDir}', executer.dir);
      if (executer.manifest.command[0] === 'node') expect(existsSync(launcher ?? ''), launcher).toBe(true);
    }
    expect([...all.values()].filter((e) => e.manifest.requiresOptIn).map((e) => e.manifest.name)).toEqual([
      'script',
    ]);
  });

  it('is what a tracker configured with GPUFLEET_EXECUTERS loads, script only with GPUFLEET_ENABLE_OPT_IN_EXECUTERS', () => {
    const base = { REDIS_URL: 'redis://127.0.0.1:6379', GPUFLEET_EXECUTERS: CATALOG_DIR };
    expect(loadTrackerConfig(base)).toMatchObject({
      executerPaths: [CATALOG_DIR],
      allowOptInExecuters: false,
    });
    const enabled = loadTrackerConfig({ ...base, GPUFLEET_ENABLE_OPT_IN_EXECUTERS: 'true' });
    expect(enabled.allowOptInExecuters).toBe(true);
  });

  it('runs noop on a CPU tracker: it succeeds and writes nothing but its logs', async () => {
    const task = await fleet.run({ executer: 'noop' });
    expect(task.status, task.error ?? '').toBe('succeeded');
    expect(task.gpus).toBe(0);
    expect(task.outputs?.files.map((f) => f.path)).toEqual(['stdout.txt', 'stderr.txt']);
  });
});
