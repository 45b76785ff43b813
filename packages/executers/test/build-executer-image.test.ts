// scripts/build-executer-image.ts against a fake `docker` on PATH that records its arguments: the
// executer's own image is built from its Dockerfile, then the tracker image FROM it with the
// executer's folder as the `executers` build context and labels naming the executer, its version and
// its manifest digest; options land where they belong; --dry-run prints the plan without docker;
// a missing folder, a missing or invalid manifest, a missing docker and a failing build say so.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { CATALOG_DIR } from '@gpufleet/executers';
import { useTempDirs } from '@gpufleet/testkit';

const temp = useTempDirs();
const ROOT = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '');
const SCRIPT = join(ROOT, 'scripts', 'build-executer-image.ts');
const TSX = createRequire(import.meta.url).resolve('tsx/cli');
const SPH = join(CATALOG_DIR, 'sph');
const NOOP = join(CATALOG_DIR, 'noop');
let dockerDir: string;
let noDockerDir: string;

const FAKE_DOCKER = `#!${process.execPath}
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_DOCKER_LOG, JSON.stringify(args) + '\\n');
if (args[0] === 'image') { process.stdout.write('sha256:f00d\\n'); process.exit(0); }
const fail = process.env.FAKE_DOCKER_FAIL_TAG;
if (fail && args.includes(fail)) { console.error('fake docker: build failed'); process.exit(3); }
console.log('fake docker: ok');
`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  calls: string[][];
}

beforeAll(async () => {
  dockerDir = await temp.make();
  await writeFile(join(dockerDir, 'docker'), FAKE_DOCKER);
  await chmod(join(dockerDir, 'docker'), 0o755);
  noDockerDir = await temp.make();
});

async function build(
  args: string[],
  options: { docker?: boolean; env?: Record<string, string> } = {},
): Promise<Run> {
  const log = join(await temp.make(), 'docker.ndjson');
  await writeFile(log, '');
  const env = {
    ...process.env,
    PATH: options.docker === false ? noDockerDir : dockerDir,
    FAKE_DOCKER_LOG: log,
    ...options.env,
  };
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [TSX, SCRIPT, ...args], { env, cwd: ROOT }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
  const text = (await readFile(log, 'utf8')).trim();
  return { ...result, calls: text === '' ? [] : text.split('\n').map((l) => JSON.parse(l) as string[]) };
}

async function digestOf(dir: string): Promise<string> {
  return `sha256:${createHash('sha256')
    .update(await readFile(join(dir, 'executer.json')))
    .digest('hex')}`;
}

/** The value following `flag` in argv, for each occurrence. */
function valuesOf(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1] ?? ''] : []));
}

describe('build-executer-image', () => {
  it('builds the executer image from its Dockerfile, then the labelled tracker image FROM it', async () => {
    const run = await build(['--name', 'sph-executer', '--executer-path', 'packages/executers/catalog/sph']);
    expect(run.code, run.stderr).toBe(0);
    const [own, tracker, inspect, ...rest] = run.calls;
    expect(rest).toEqual([]);
    expect(own).toEqual([
      'build',
      '--file',
      join(SPH, 'Dockerfile'),
      '--tag',
      'sph-executer-base:1.0.0',
      SPH,
    ]);
    expect(tracker?.slice(0, 5)).toEqual([
      'build',
      '--file',
      join(ROOT, 'Dockerfile'),
      '--tag',
      'sph-executer:1.0.0',
    ]);
    expect(valuesOf(tracker ?? [], '--build-arg')).toEqual(['BASE_IMAGE=sph-executer-base:1.0.0']);
    expect(valuesOf(tracker ?? [], '--build-context')).toEqual([`executers=${SPH}`]);
    expect(valuesOf(tracker ?? [], '--label')).toEqual([
      'org.gpufleet.executer.name=sph',
      'org.gpufleet.executer.version=1.0.0',
      `org.gpufleet.executer.manifest-digest=${await digestOf(SPH)}`,
      'org.opencontainers.image.title=sph-executer',
      'org.opencontainers.image.version=1.0.0',
    ]);
    expect(tracker?.at(-1)).toBe(ROOT);
    expect(inspect).toEqual(['image', 'inspect', '--format', '{{.Id}}', 'sph-executer:1.0.0']);
    expect(run.stdout).toContain('built sph-executer:1.0.0 (sha256:f00d)');
    expect(run.stdout).toContain(`manifest digest  ${await digestOf(SPH)}`);
    expect(run.stdout).toContain('docker run --gpus all -e REDIS_URL=');
  });

  it('passes --tag, --base, --platform and extra arguments to the builds, and pushes last', async () => {
    const run = await build([
      '--name',
      'registry.example:5000/team/sph',
      '--executer-path',
      SPH,
      '--tag',
      'v7',
      '--base',
      'nvidia/cuda:12.6.0-devel-ubuntu24.04',
      '--platform',
      'linux/amd64',
      '--push',
      '--',
      '--build-arg',
      'HTTP_PROXY=http://proxy:3128',
      '--no-cache',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const [own, tracker, push] = run.calls;
    expect(valuesOf(own ?? [], '--tag')).toEqual(['registry.example:5000/team/sph-base:v7']);
    expect(valuesOf(own ?? [], '--build-arg')).toEqual([
      'BASE_IMAGE=nvidia/cuda:12.6.0-devel-ubuntu24.04',
      'HTTP_PROXY=http://proxy:3128',
    ]);
    for (const argv of [own, tracker]) {
      expect(valuesOf(argv ?? [], '--platform')).toEqual(['linux/amd64']);
      expect(argv).toContain('--no-cache');
    }
    expect(valuesOf(tracker ?? [], '--build-arg')).toEqual([
      'BASE_IMAGE=registry.example:5000/team/sph-base:v7',
      'HTTP_PROXY=http://proxy:3128',
    ]);
    expect(push).toEqual(['push', 'registry.example:5000/team/sph:v7']);
    expect(run.stdout).toContain('pushed           yes');
  });

  it('builds only the tracker image, on --base, for an executer without a Dockerfile', async () => {
    const run = await build([
      '--name',
      'noop-tracker',
      '--executer-path',
      NOOP,
      '--base',
      'debian:bookworm-slim',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.calls.map((c) => c[0])).toEqual(['build', 'image']);
    expect(valuesOf(run.calls[0] ?? [], '--build-arg')).toEqual(['BASE_IMAGE=debian:bookworm-slim']);
    expect(valuesOf(run.calls[0] ?? [], '--build-context')).toEqual([`executers=${NOOP}`]);
  });

  it('prints the plan with --dry-run and needs no docker for it', async () => {
    const run = await build(['--name', 'sph-executer', '--executer-path', SPH, '--push', '--dry-run'], {
      docker: false,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.calls).toEqual([]);
    const planned = run.stdout.split('\n').filter((l) => l.startsWith('would run: '));
    expect(planned).toHaveLength(3);
    expect(planned[0]).toContain(
      `docker build --file ${join(SPH, 'Dockerfile')} --tag sph-executer-base:1.0.0`,
    );
    expect(planned[1]).toContain('--build-arg BASE_IMAGE=sph-executer-base:1.0.0');
    expect(planned[2]).toBe('would run: docker push sph-executer:1.0.0');
    expect(run.stdout).toContain('would build sph-executer:1.0.0');
  });

  it('says clearly what is wrong with the folder, the manifest, or docker', async () => {
    const missing = await build(['--name', 'x', '--executer-path', '/nonexistent/executer']);
    expect([missing.code, missing.stderr]).toEqual([
      1,
      'build-executer-image: executer folder /nonexistent/executer does not exist\n',
    ]);
    const empty = await temp.make();
    expect((await build(['--name', 'x', '--executer-path', empty])).stderr).toContain('has no executer.json');
    const bad = await temp.make();
    await writeFile(
      join(bad, 'executer.json'),
      JSON.stringify({ name: 'Bad Name', version: '1', command: [] }),
    );
    const invalid = await build(['--name', 'x', '--executer-path', bad]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('is not a valid executer manifest');
    expect(invalid.stderr).toMatch(/name: .*pattern/);
    expect(invalid.stderr).toMatch(/command: .*fewer than 1/);
    const broken = join(await temp.make(), 'broken');
    await mkdir(broken);
    await writeFile(join(broken, 'executer.json'), '{ "name": ');
    expect((await build(['--name', 'x', '--executer-path', broken])).stderr).toContain('is not valid JSON');
    const noDocker = await build(['--name', 'x', '--executer-path', SPH], { docker: false });
    expect(noDocker.code).toBe(1);
    expect(noDocker.stderr).toContain('docker is not installed or not on PATH');
    expect(invalid.calls.concat(noDocker.calls)).toEqual([]);
  });

  it('stops at a failing docker build, and refuses bad usage', async () => {
    const failed = await build(['--name', 'sph-executer', '--executer-path', SPH], {
      env: { FAKE_DOCKER_FAIL_TAG: 'sph-executer-base:1.0.0' },
    });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('building sph-executer-base:1.0.0 failed: docker exited with code 3');
    expect(failed.calls).toHaveLength(1);
    for (const args of [
      ['--executer-path', SPH],
      ['--name', 'x'],
      ['--name', 'Not Valid', '--executer-path', SPH],
      ['--name', 'x', '--executer-path', SPH, '--bogus'],
    ]) {
      const usage = await build(args);
      expect(usage.code, args.join(' ')).toBe(2);
      expect(usage.stderr).toContain('usage: npx tsx scripts/build-executer-image.ts');
    }
  });
});
