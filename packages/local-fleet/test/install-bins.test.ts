// Every command a package declares (`bin`) is there after the README's `npm install`, before any
// build: its file is one a clone has (a committed launcher, not an ignored dist/ file), and the lock
// file names the same path, since npm links a workspace's bins from the lock file's entry and only
// when the file exists at install time. A fresh copy of the repository's packages is installed here
// with npm (offline, the registry packages left out, so it takes a second): every command is
// linked into node_modules/.bin, and, unbuilt, says to run `npm run build`. Built (npm test builds
// first), each launcher runs the real command.
import { execFileSync, spawnSync } from 'node:child_process';
import { access, constants, cp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useTempDirs } from '@gpufleet/testkit';

const temp = useTempDirs();
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

interface PackageJson {
  name: string;
  bin?: Record<string, string>;
  workspaces?: string[];
  [key: string]: unknown;
}

interface Bin {
  name: string;
  /** The package's folder, relative to the repository. */
  dir: string;
  /** The file, relative to the package's folder, as package.json names it. */
  target: string;
}

const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T;

async function declaredBins(): Promise<Bin[]> {
  const root = await readJson<PackageJson>(join(ROOT, 'package.json'));
  const bins: Bin[] = [];
  for (const dir of root.workspaces ?? []) {
    const pkg = await readJson<PackageJson>(join(ROOT, dir, 'package.json'));
    for (const [name, target] of Object.entries(pkg.bin ?? {})) bins.push({ name, dir, target });
  }
  return bins;
}

/** The files a clone of the repository has (or will have once committed): not ignored build outputs. */
function repositoryFiles(under: string): string[] {
  return execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', under], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter(Boolean);
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

const withoutDot = (path: string): string => path.replace(/^\.\//, '');
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'];

/**
 * A copy of the repository's packages as a clone has them, with their registry dependencies left
 * out of package.json and of the lock file (whose workspace entries, `bin` included, are kept).
 */
async function copyWorkspace(into: string): Promise<void> {
  for (const file of repositoryFiles('packages')) {
    if (await exists(join(ROOT, file)))
      await cp(join(ROOT, file), join(into, file), { preserveTimestamps: true });
  }
  const root = await readJson<PackageJson>(join(ROOT, 'package.json'));
  await writeFile(
    join(into, 'package.json'),
    JSON.stringify({ name: root.name, private: true, workspaces: root.workspaces }, null, 2),
  );
  for (const dir of root.workspaces ?? []) {
    const pkg = await readJson<PackageJson>(join(into, dir, 'package.json'));
    for (const field of [...DEPENDENCY_FIELDS, 'scripts']) delete pkg[field];
    await writeFile(join(into, dir, 'package.json'), JSON.stringify(pkg, null, 2));
  }
  const lock = await readJson<
    { packages: Record<string, Record<string, unknown>> } & Record<string, unknown>
  >(join(ROOT, 'package-lock.json'));
  const packages: Record<string, Record<string, unknown>> = {};
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '') packages[path] = { name: entry.name, workspaces: entry.workspaces };
    else if (path.startsWith('packages/')) {
      packages[path] = Object.fromEntries(
        Object.entries(entry).filter(([k]) => !DEPENDENCY_FIELDS.includes(k)),
      );
    } else if (entry.link === true) packages[path] = entry;
  }
  await writeFile(
    join(into, 'package-lock.json'),
    JSON.stringify(
      { name: lock.name, lockfileVersion: lock.lockfileVersion, requires: true, packages },
      null,
      2,
    ),
  );
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise((done) => server.close(done));
  return typeof address === 'object' && address ? address.port : 0;
}

describe('the commands the packages declare', () => {
  it('include every `npx` command the docs name', async () => {
    const docs = [
      'README.md',
      ...(await readdir(join(ROOT, 'docs'))).map((f) => `docs/${f}`),
      ...repositoryFiles('packages').filter((f) => /^packages\/[^/]+\/README\.md$/.test(f)),
    ].filter((f) => f.endsWith('.md'));
    const named = new Set<string>();
    for (const doc of docs) {
      for (const match of (await readFile(join(ROOT, doc), 'utf8')).matchAll(/\bnpx (gpufleet[\w-]*)/g)) {
        named.add(match[1] as string);
      }
    }
    expect([...named].sort()).toEqual(
      expect.arrayContaining(['gpufleet', 'gpufleet-api', 'gpufleet-tracker']),
    );
    const declared = (await declaredBins()).map((b) => b.name);
    expect(declared).toEqual(expect.arrayContaining([...named]));
  });

  it('are committed launchers that the lock file links', async () => {
    const bins = await declaredBins();
    expect(bins.map((b) => b.name).sort()).toEqual([
      'gpufleet',
      'gpufleet-api',
      'gpufleet-local',
      'gpufleet-slurm',
      'gpufleet-tracker',
      'gpufleet-tracker-healthcheck',
    ]);
    const files = new Set(repositoryFiles('packages'));
    const lock = await readJson<{ packages: Record<string, { bin?: Record<string, string> }> }>(
      join(ROOT, 'package-lock.json'),
    );
    for (const bin of bins) {
      const file = join(bin.dir, withoutDot(bin.target));
      expect(files.has(file), `${bin.name}: ${file} is a file of the repository`).toBe(true);
      expect((await stat(join(ROOT, file))).mode & 0o111, `${file} is executable`).not.toBe(0);
      expect(await readFile(join(ROOT, file), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
      expect(lock.packages[bin.dir]?.bin?.[bin.name], `package-lock.json: ${bin.dir} bin ${bin.name}`).toBe(
        withoutDot(bin.target),
      );
    }
  });

  it('are linked by npm install before any build, and say to build first', { timeout: 60_000 }, async () => {
    const dir = await temp.make();
    await copyWorkspace(dir);
    const install = spawnSync(
      'npm',
      ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'],
      {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir },
        encoding: 'utf8',
        timeout: 50_000,
      },
    );
    expect(install.status, install.stderr).toBe(0);
    const path = `${join(dir, 'node_modules', '.bin')}:${dirname(process.execPath)}:/usr/bin:/bin`;
    for (const bin of await declaredBins()) {
      const linked = join(dir, 'node_modules', '.bin', bin.name);
      await access(linked, constants.X_OK);
      // As `npx NAME` runs it: through the link, by its #! line.
      const run = spawnSync(linked, ['--help'], { cwd: dir, env: { PATH: path }, encoding: 'utf8' });
      expect(run.stderr).toBe(
        `${bin.name}: not built yet; run \`npm run build\` in the gpufleet repository first\n`,
      );
      expect(run.status).not.toBe(0);
      expect(run.stdout).toBe('');
    }
  });

  it('run the built command once built', { timeout: 30_000 }, async () => {
    const cwd = await temp.make();
    const env = { PATH: '/nonexistent', HOME: cwd };
    const checks: Record<
      string,
      { args: string[]; env?: Record<string, string>; code: number; out: RegExp }
    > = {
      gpufleet: { args: ['--version'], code: 0, out: /^0\.1\.0\n$/ },
      'gpufleet-api': { args: ['keys', 'hash', 'a-key'], code: 0, out: /^[0-9a-f]{64}\n$/ },
      'gpufleet-tracker': {
        args: [],
        code: 1,
        out: /^gpufleet-tracker: invalid configuration\n {2}GPUFLEET_EXECUTERS/,
      },
      'gpufleet-slurm': {
        args: ['launch', '--time', 'soon', '--dry-run'],
        code: 2,
        out: /^gpufleet-slurm: invalid options\n {2}--time: must be a SLURM time/,
      },
      'gpufleet-tracker-healthcheck': {
        args: [],
        env: { REDIS_URL: `redis://127.0.0.1:${await closedPort()}` },
        code: 1,
        out: /^unhealthy: /,
      },
      'gpufleet-local': {
        args: ['--no-demo', '--own-redis', '--data-dir', join(cwd, '.gpufleet')],
        code: 1,
        out: /redis-server is not installed/,
      },
    };
    const bins = await declaredBins();
    expect(Object.keys(checks).sort()).toEqual(bins.map((b) => b.name).sort());
    for (const bin of bins) {
      const check = checks[bin.name];
      if (!check) continue;
      const launcher = resolve(ROOT, bin.dir, bin.target);
      const run = spawnSync(process.execPath, [launcher, ...check.args], {
        cwd,
        env: { ...env, ...check.env },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(run.stdout + run.stderr, bin.name).toMatch(check.out);
      expect(run.status, `${bin.name}: ${run.stderr}`).toBe(check.code);
    }
  });
});
