// Compiles sph.cu on first use into a cache folder and reuses the binary afterwards. A binary's name
// carries the hash of the sources and the hash of the compiler command and version, so a change to
// either builds anew. Each build goes to a temporary name and is renamed into place, so concurrent
// first uses never see a half-written binary (the last rename wins; both binaries are the same).
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SOURCE_DIR = fileURLToPath(new URL('../src', import.meta.url));
export const MAIN_SOURCE = join(SOURCE_DIR, 'sph.cu');

/** The cache folder: SPH_BUILD_CACHE, else $XDG_CACHE_HOME/gpufleet-sph, else ~/.cache/gpufleet-sph. */
export function cacheDir(env = process.env) {
  if (env.SPH_BUILD_CACHE) return env.SPH_BUILD_CACHE;
  const home = env.HOME || homedir() || tmpdir();
  return join(env.XDG_CACHE_HOME || join(home, '.cache'), 'gpufleet-sph');
}

/** Absolute path of an executable on PATH, or null. */
export function which(name, env = process.env) {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return null;
}

/** sha256 of every file under src/, in name order, names included. */
export function sourceHash() {
  const hash = createHash('sha256');
  for (const name of readdirSync(SOURCE_DIR).sort()) {
    hash
      .update(`${name}\0`)
      .update(readFileSync(join(SOURCE_DIR, name)))
      .update('\0');
  }
  return hash.digest('hex');
}

/**
 * The compiler and its arguments for a backend. CPU: g++ (or $CXX) with FMA contraction off; GPU:
 * nvcc with -fmad=false (and no contraction in host code either), for SPH_CUDA_ARCH (default "native": the GPUs of this machine).
 */
export function compileCommand(backend, env = process.env) {
  const common = ['-O2', '-std=c++17'];
  if (backend === 'cpu') {
    return { program: env.CXX || 'g++', args: ['-x', 'c++', ...common, '-ffp-contract=off'] };
  }
  const arch = env.SPH_CUDA_ARCH || 'native';
  const hostFlags = ['-Xcompiler', '-ffp-contract=off']; // host code too: setup and diagnostics
  return { program: 'nvcc', args: ['-x', 'cu', ...common, '-fmad=false', ...hostFlags, `-arch=${arch}`] };
}

function compilerVersion(program, env) {
  const result = spawnSync(program, ['--version'], { env, encoding: 'utf8', timeout: 30_000 });
  if (result.error || result.status !== 0) return null;
  return result.stdout.trim();
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where the binary for this source and command would be, without building it. */
export function planBinary(backend, env = process.env) {
  const dir = cacheDir(env);
  const command = compileCommand(backend, env);
  const version = compilerVersion(command.program, env);
  const source = sourceHash().slice(0, 16);
  const prefix = `sph-${backend}-${source}-`;
  const flags = createHash('sha256')
    .update(JSON.stringify([command.program, command.args, version]))
    .digest('hex')
    .slice(0, 12);
  return { dir, command, version, prefix, path: join(dir, prefix + flags) };
}

/** A binary of this source for this backend already in the cache (any compiler), or null. */
export function anyCachedBinary(backend, env = process.env) {
  const dir = cacheDir(env);
  const prefix = `sph-${backend}-${sourceHash().slice(0, 16)}-`;
  let names = [];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  const found = names.filter((n) => n.startsWith(prefix) && !n.includes('.tmp-')).sort()[0];
  return found !== undefined && isExecutable(join(dir, found)) ? join(dir, found) : null;
}

/**
 * Returns a binary for the backend, compiling it if needed: { path, cached, compileMs, compiler }.
 * Without the compiler, a binary of the same source built earlier (an image's prebuilt one) is used.
 * Throws an Error whose message holds the compiler's own output when compiling fails.
 */
export function ensureBinary(backend, env = process.env) {
  const plan = planBinary(backend, env);
  if (isExecutable(plan.path)) return { path: plan.path, cached: true, compileMs: 0, compiler: plan.version };
  if (plan.version === null) {
    const prebuilt = anyCachedBinary(backend, env);
    if (prebuilt) return { path: prebuilt, cached: true, compileMs: 0, compiler: null };
    throw new Error(
      `cannot build the ${backend} binary: ${plan.command.program} is not installed (or fails), and ${plan.dir} holds no prebuilt binary of this source`,
    );
  }
  mkdirSync(plan.dir, { recursive: true });
  const temp = `${plan.path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const started = Date.now();
  const result = spawnSync(plan.command.program, [...plan.command.args, MAIN_SOURCE, '-o', temp], {
    env,
    encoding: 'utf8',
    cwd: SOURCE_DIR,
  });
  if (result.error || result.status !== 0) {
    rmSync(temp, { force: true });
    const output = `${result.stderr ?? ''}${result.stdout ?? ''}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(
      `compiling the ${backend} build failed (${plan.command.program} exited ${result.status ?? result.error?.message}):\n${output}`,
    );
  }
  renameSync(temp, plan.path);
  return { path: plan.path, cached: false, compileMs: Date.now() - started, compiler: plan.version };
}
