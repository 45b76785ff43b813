// The sph GPU build. Where nvcc exists, the one source compiles and links as CUDA, and the binary,
// run where no GPU is usable, stops with exit 3 and says so. Where a GPU is usable too, the GPU and
// CPU builds run the same case and must agree within AGREEMENT (they are designed to be identical:
// same per-particle code, same summation order, double precision, no FMA contraction on either).
// Each test skips, with its reason, where the machine cannot run it.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CATALOG_DIR } from '@gpufleet/executers';
import { useTempDirs } from '@gpufleet/testkit';
import { expectDamBreakPhysics, parseCsvFrame, type SphSummary } from './helpers/dam-break.js';
import { gpuUsable, nvccAvailable } from './helpers/gpu.js';

const temp = useTempDirs();
const LAUNCHER = join(CATALOG_DIR, 'sph', 'run-sph.mjs');
const run = promisify(execFile);
const gpu = gpuUsable();
const nvcc = nvccAvailable();

/** CPU and GPU results may differ by this much: metres for positions, relative for the summary. */
export const AGREEMENT = { position: 1e-6, relative: 1e-6 };

async function launch(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, [LAUNCHER, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stderr: '' };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe('sph GPU build', () => {
  it('compiles and links the CUDA source with nvcc; without a usable GPU the binary exits 3 and says why', async (ctx) => {
    ctx.skip(!nvcc.available, nvcc.reason);
    const cache = await temp.make();
    const env = { SPH_BUILD_CACHE: cache, SPH_CUDA_ARCH: gpu.usable ? 'native' : 'sm_80' };
    const { stdout } = await run(process.execPath, [LAUNCHER, '--build-only', '--backend=cuda'], {
      env: { ...process.env, ...env },
    });
    const built = JSON.parse(stdout) as { path: string; cached: boolean; compiler: string };
    expect(built.path).toMatch(/\/sph-cuda-[0-9a-f]{16}-[0-9a-f]{12}$/);
    expect(built.compiler).toMatch(/Cuda compilation tools/);
    const out = join(cache, 'out');
    const result = await run(built.path, ['--out', out, '--particles', '50', '--steps', '2']).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    if (gpu.usable) {
      expect(result.code, result.stderr).toBe(0);
      const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as SphSummary;
      expect(summary.device.kind).toBe('cuda');
    } else {
      expect(result.code).toBe(3);
      expect(result.stderr).toContain('this is the GPU build and no CUDA device can be used');
    }
  }, 300_000);

  it('agrees with the CPU build on the same dam break', async (ctx) => {
    ctx.skip(!gpu.usable || !nvcc.available, !gpu.usable ? gpu.reason : nvcc.reason);
    const dir = await temp.make();
    const visible = process.env['CUDA_VISIBLE_DEVICES'] || '0';
    const env = { SPH_BUILD_CACHE: join(dir, 'cache'), CUDA_VISIBLE_DEVICES: visible };
    const summaries: SphSummary[] = [];
    for (const device of ['cpu', 'gpu']) {
      const result = await launch(['--out', join(dir, device), '--particles=800', `--device=${device}`], env);
      expect(result.code, result.stderr).toBe(0);
      summaries.push(JSON.parse(await readFile(join(dir, device, 'summary.json'), 'utf8')) as SphSummary);
    }
    const [cpu, cuda] = summaries as [SphSummary, SphSummary];
    expect([cpu.device.kind, cuda.device.kind]).toEqual(['cpu', 'cuda']);
    expectDamBreakPhysics(cuda);
    expect(cuda.frames.length).toBe(cpu.frames.length);
    cpu.frames.forEach((c, i) => {
      const g = cuda.frames[i] as typeof c;
      for (const key of [
        'front',
        'columnHeight',
        'kinetic',
        'potential',
        'volume',
        'rhoMin',
        'rhoMax',
      ] as const) {
        const scale = Math.max(Math.abs(c[key]), 1);
        expect(Math.abs(g[key] - c[key]) / scale, `${key} at step ${c.step}`).toBeLessThanOrEqual(
          AGREEMENT.relative,
        );
      }
    });
    const last = cpu.frames.at(-1)?.file ?? '';
    const [a, b] = await Promise.all(
      ['cpu', 'gpu'].map(async (d) => parseCsvFrame(await readFile(join(dir, d, last), 'utf8'))),
    );
    let worst = 0;
    a?.forEach((p, i) => {
      const q = b?.[i];
      worst = Math.max(worst, Math.abs(p.x - (q?.x ?? NaN)), Math.abs(p.y - (q?.y ?? NaN)));
    });
    expect(worst).toBeLessThanOrEqual(AGREEMENT.position);
    await ctx.annotate(
      `sph 800 particles, ${cpu.stepsDone} steps: CPU ${cpu.timing.stepsMs.toFixed(0)} ms (${cpu.device.name}), ` +
        `GPU ${cuda.timing.stepsMs.toFixed(0)} ms (${cuda.device.name}); largest position difference ${worst} m`,
    );
  }, 300_000);
});
