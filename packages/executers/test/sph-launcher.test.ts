// The sph launcher on its own: the build cache (concurrent first uses leave one whole binary, later
// uses reuse it, a prebuilt binary serves when no compiler is installed), the choice between the GPU
// and CPU builds (with a fake nvidia-smi and nvcc on PATH), and determinism: the same case gives the
// same numbers twice and in both frame formats, which the CPU/GPU agreement check builds on.
import { execFile } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CATALOG_DIR } from '@gpufleet/executers';
import { useTempDirs } from '@gpufleet/testkit';
import type { SphSummary } from './helpers/dam-break.js';

const temp = useTempDirs();
const LAUNCHER = join(CATALOG_DIR, 'sph', 'run-sph.mjs');
const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function launch(args: string[], env: Record<string, string | undefined>): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [LAUNCHER, ...args], {
      env: { ...process.env, CUDA_VISIBLE_DEVICES: '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A folder of fake executables that print `output` and exit 0. */
async function fakeTools(tools: Record<string, string>): Promise<string> {
  const dir = await temp.make();
  for (const [name, output] of Object.entries(tools)) {
    const file = join(dir, name);
    await writeFile(file, `#!${process.execPath}\nprocess.stdout.write(${JSON.stringify(output)});\n`);
    await chmod(file, 0o755);
  }
  return dir;
}

describe('sph build cache', () => {
  it('builds under a temporary name when two first uses race, leaving one whole binary that later uses reuse', async () => {
    const cache = await temp.make();
    const env = { SPH_BUILD_CACHE: cache };
    const both = Promise.all([launch(['--build-only'], env), launch(['--build-only'], env)]);
    const seen: Array<{ name: string; size: number }> = [];
    let done = false;
    void both.finally(() => (done = true));
    while (!done) {
      for (const name of await readdir(cache).catch(() => [])) {
        seen.push({ name, size: (await stat(join(cache, name)).catch(() => null))?.size ?? -1 });
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const [a, b] = await both;
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    const [built, other] = [JSON.parse(a.stdout), JSON.parse(b.stdout)] as Array<{
      path: string;
      cached: boolean;
    }>;
    expect(built?.path).toBe(other?.path);
    const binaryName = built?.path.split('/').at(-1) ?? '';
    expect(await readdir(cache)).toEqual([binaryName]);
    // While building, only temporary names grew; the binary's own name only ever held the whole file.
    const finalSize = (await stat(built?.path ?? '')).size;
    expect(seen.some((s) => s.name.startsWith(`${binaryName}.tmp-`))).toBe(true);
    const sizes = new Set(seen.filter((s) => s.name === binaryName && s.size !== -1).map((s) => s.size));
    expect([...sizes].filter((size) => size !== finalSize)).toEqual([]);
    const again = JSON.parse((await launch(['--build-only'], env)).stdout) as {
      path: string;
      cached: boolean;
    };
    expect(again).toMatchObject({ path: built?.path, cached: true });
    const { stdout } = await run(built?.path ?? '', [
      '--out',
      join(cache, 'out'),
      '--particles',
      '50',
      '--steps',
      '2',
    ]);
    expect(stdout).toContain('step 2/2');
  });

  it('uses a prebuilt binary of the same source when no compiler is installed, and says so when none is there', async () => {
    const cache = await temp.make();
    expect((await launch(['--build-only'], { SPH_BUILD_CACHE: cache })).code).toBe(0);
    const noCompiler = { SPH_BUILD_CACHE: cache, CXX: '/nonexistent/g++' };
    const prebuilt = await launch(['--out', join(cache, 'o'), '--particles=50', '--steps=4'], noCompiler);
    expect(prebuilt.code, prebuilt.stderr).toBe(0);
    expect(prebuilt.stdout).toMatch(/run-sph: cached .*sph-cpu-/);
    const empty = await temp.make();
    const missing = await launch(['--out', join(empty, 'o'), '--steps=4'], {
      ...noCompiler,
      SPH_BUILD_CACHE: empty,
    });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('/nonexistent/g++ is not installed');
  });
});

describe('sph build choice', () => {
  const plan = async (args: string[], env: Record<string, string>): Promise<Record<string, unknown>> => {
    const result = await launch(['--out', '/tmp/unused', '--dry-run', ...args], env);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  };

  it('takes the CPU build when the task has no GPU, or no driver answers', async () => {
    const cache = await temp.make();
    expect(await plan([], { SPH_BUILD_CACHE: cache })).toMatchObject({
      backend: 'cpu',
      reason: expect.stringContaining('CUDA_VISIBLE_DEVICES is empty'),
    });
    const noSmi = await plan([], {
      SPH_BUILD_CACHE: cache,
      CUDA_VISIBLE_DEVICES: '1',
      PATH: await fakeTools({}),
    });
    expect(noSmi).toMatchObject({ backend: 'cpu', reason: expect.stringContaining('nvidia-smi') });
  });

  it('takes the GPU build, compiled by nvcc without FMA contraction, when a GPU is visible', async () => {
    const tools = await fakeTools({
      'nvidia-smi': 'GPU 0: Fake H100 (UUID: GPU-1)\n',
      nvcc: 'Cuda compilation tools\n',
    });
    const env = {
      SPH_BUILD_CACHE: await temp.make(),
      CUDA_VISIBLE_DEVICES: '1',
      PATH: tools + delimiter + process.env['PATH'],
    };
    const gpu = await plan(['--particles=200'], env);
    expect(gpu).toMatchObject({ backend: 'cuda', args: ['--out', '/tmp/unused', '--particles', '200'] });
    expect(gpu['compile']).toEqual(expect.arrayContaining(['nvcc', '-fmad=false', '-arch=native', 'sph.cu']));
    expect(await plan(['--device=cpu'], env)).toMatchObject({ backend: 'cpu' });
    const noNvcc = await fakeTools({ 'nvidia-smi': 'GPU 0: Fake H100 (UUID: GPU-1)\n' });
    const withoutNvcc = { ...env, PATH: noNvcc };
    expect(await plan([], withoutNvcc)).toMatchObject({
      backend: 'cpu',
      reason: expect.stringContaining('nvcc'),
    });
    const demanded = await launch(['--out', '/tmp/unused', '--device=gpu', '--dry-run'], withoutNvcc);
    expect(demanded.code).toBe(3);
  });
});

describe('sph determinism', () => {
  it('gives the same numbers on every run and in both frame formats', async () => {
    const dir = await temp.make();
    const env = { SPH_BUILD_CACHE: join(dir, 'cache') };
    const common = ['--particles=128', '--steps=300', '--output-every=300'];
    for (const [name, format] of [
      ['a', 'csv'],
      ['b', 'csv'],
      ['c', 'vtk'],
    ] as const) {
      const result = await launch(['--out', join(dir, name), ...common, `--format=${format}`], env);
      expect(result.code, result.stderr).toBe(0);
    }
    const frameA = await readFile(join(dir, 'a', 'frames', 'frame-00001.csv'), 'utf8');
    expect(await readFile(join(dir, 'b', 'frames', 'frame-00001.csv'), 'utf8')).toBe(frameA);
    const vtk = (await readFile(join(dir, 'c', 'frames', 'frame-00001.vtk'), 'utf8')).split('\n');
    const points = vtk.slice(vtk.findIndex((l) => l.startsWith('POINTS')) + 1);
    frameA
      .trim()
      .split('\n')
      .slice(1)
      .forEach((row, i) => {
        const [, , x, y] = row.split(',');
        expect(points[i]).toBe(`${x} ${y} 0`);
      });
    const summaries = await Promise.all(
      ['a', 'c'].map(
        async (n) => JSON.parse(await readFile(join(dir, n, 'summary.json'), 'utf8')) as SphSummary,
      ),
    );
    expect(summaries[0]?.frames.map(({ file: _, ...f }) => f)).toEqual(
      summaries[1]?.frames.map(({ file: _, ...f }) => f),
    );
  });

  it('rejects bad arguments before building anything', async () => {
    const cache = await temp.make();
    await mkdir(join(cache, 'x'), { recursive: true });
    const bad = await launch(['--out', cache, '--device=tpu'], { SPH_BUILD_CACHE: cache });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--device must be auto, cpu or gpu');
    expect(await readdir(cache)).toEqual(['x']);
  });
});
