// The sph executer through the queue: a tracker loaded with the catalog runs a dam break end to end,
// and what comes back obeys the physics (no fluid lost, volume kept, the column collapses, no energy
// created); the frames and the PNG agree with the summary; the schema refuses bad parameters; a task
// that demands the GPU build fails with the reason where no GPU is usable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueue, ValidationError } from '@gpufleet/core';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import {
  decodePng,
  expectDamBreakPhysics,
  fluidPixelsIn,
  parseCsvFrame,
  type SphSummary,
} from './helpers/dam-break.js';
import { startCatalogFleet, type CatalogFleet } from './helpers/fleet.js';
import { gpuUsable } from './helpers/gpu.js';

const redis = useRedis();
const temp = useTempDirs();
let fleet: CatalogFleet;

beforeAll(async () => {
  process.env['SPH_BUILD_CACHE'] = await temp.make('gpufleet-sph-cache-');
  // GPU 0 is an allowed slot, so sph's default (1 GPU) is schedulable; whether a real GPU is behind it
  // is the launcher's business (no nvidia-smi here: it takes the CPU build and says why).
  fleet = await startCatalogFleet(redis, temp, { gpuIds: [0] });
});

afterAll(async () => {
  await fleet.tracker.close();
});

async function summaryOf(task: Awaited<ReturnType<CatalogFleet['run']>>): Promise<SphSummary> {
  return JSON.parse((await fleet.output(task, 'summary.json')).toString('utf8')) as SphSummary;
}

describe('sph through the queue', () => {
  it('runs a dam break whose outputs obey the physics', async () => {
    const task = await fleet.run({ executer: 'sph', params: { particles: 200, outputEvery: 200 } });
    expect(task.status, task.error ?? '').toBe('succeeded');
    expect(task.gpuIds).toEqual([0]);
    const s = await summaryOf(task);
    expect(s.particles.fluid).toBe(200);
    expect(s.parameters).toMatchObject({ particles: 200, outputEvery: 200, format: 'csv' });
    expectDamBreakPhysics(s);
    expect(s.build?.backend).toBe(s.device.kind);
    expect(s.timing.stepsMs).toBeGreaterThan(0);

    const paths = task.outputs?.files.map((f) => f.path) ?? [];
    expect(paths).toEqual(expect.arrayContaining(['summary.json', 'final-frame.png', 'stdout.txt']));
    expect(paths.filter((p) => p.startsWith('frames/'))).toEqual(s.frames.map((f) => f.file));

    // The last frame file holds what the summary says about it.
    const last = s.frames.at(-1);
    const rows = parseCsvFrame((await fleet.output(task, last?.file ?? '')).toString('utf8'));
    const fluid = rows.filter((r) => r.type === 'fluid');
    expect(fluid).toHaveLength(200);
    expect(rows.filter((r) => r.type === 'wall')).toHaveLength(s.particles.wall);
    const bedFront = Math.max(...fluid.filter((r) => r.y <= 3 * s.numerics.dx).map((r) => r.x));
    expect(bedFront).toBeCloseTo(last?.front ?? NaN, 6);
    const volume = fluid.reduce((sum, r) => sum + s.numerics.particleMass / r.rho, 0);
    expect(volume).toBeCloseTo(last?.volume ?? NaN, 4);

    // The plot shows the collapsed water: some far out on the bed, none where the column's top was.
    const image = decodePng(await fleet.output(task, 'final-frame.png'));
    const bounds = s.plot?.bounds ?? { x0: 0, x1: 1, y0: 0, y1: 1 };
    expect([image.width, image.height]).toEqual([s.plot?.width, s.plot?.height]);
    const a = s.geometry.columnWidth;
    expect(fluidPixelsIn(image, bounds, { x0: 2 * a, x1: 2.8 * a, y0: 0, y1: 0.4 * a })).toBeGreaterThan(50);
    expect(fluidPixelsIn(image, bounds, { x0: 0.1 * a, x1: 0.9 * a, y0: 1.5 * a, y1: 2 * a })).toBe(0);

    const stdout = (await fleet.output(task, 'stdout.txt')).toString('utf8');
    expect(stdout).toContain(`run-sph: ${s.build?.backend} build`);
    expect(stdout).toMatch(/step \d+\/\d+ {2}t=0\.58\d+ s/);
  }, 120_000); // the first task compiles: ~1 s with g++, ~15 s with nvcc where a GPU is usable

  it('writes VTK frames when asked, with the same particles', async () => {
    const task = await fleet.run({
      executer: 'sph',
      params: { particles: 50, steps: 40, outputEvery: 20, format: 'vtk' },
    });
    expect(task.status, task.error ?? '').toBe('succeeded');
    const s = await summaryOf(task);
    expect(s.frames.map((f) => f.file)).toEqual([
      'frames/frame-00000.vtk',
      'frames/frame-00001.vtk',
      'frames/frame-00002.vtk',
    ]);
    const vtk = (await fleet.output(task, 'frames/frame-00002.vtk')).toString('utf8');
    expect(vtk).toContain(`POINTS ${s.particles.total} double`);
    expect(vtk).toContain('VECTORS velocity double');
    expect(s.stepsDone).toBe(40);
  });

  it('refuses parameters its schema does not allow, before anything runs', async () => {
    const deps = { redis: fleet.client, prefix: fleet.prefix };
    for (const [params, field] of [
      [{ particles: 10 }, 'params.particles'],
      [{ steps: 0 }, 'params.steps'],
      [{ format: 'xml' }, 'params.format'],
      [{ device: 'tpu' }, 'params.device'],
      [{ colour: 'red' }, 'params'],
    ] as const) {
      const error = await enqueue(deps, { executer: 'sph', params }).catch((e: unknown) => e);
      expect(error, JSON.stringify(params)).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.field)).toContain(field);
    }
  });

  it('fails a task that demands the GPU build when no GPU is usable, saying why', async (ctx) => {
    ctx.skip(gpuUsable().usable, 'a GPU is usable on this machine, so the GPU build would run');
    const task = await fleet.run({ executer: 'sph', params: { particles: 50, steps: 10, device: 'gpu' } });
    expect(task.status).toBe('failed');
    expect(task.exitCode).toBe(3);
    expect(task.error).toMatch(/asked for the GPU build, but .*(nvidia-smi|CUDA_VISIBLE_DEVICES)/);
  });
});
