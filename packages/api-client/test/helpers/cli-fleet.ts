/**
 * A real fleet for the client's tests: the test file's redis-server, the API server started from
 * its configuration (server.ts) on a free port with a token, and one in-process tracker with the
 * executer catalog (`script` enabled) and the tracker's `probe` test executer, on four allowed
 * GPU ids (or the GPUs and nvidia-smi `options` give) and two CPU slots. `runCli` runs the built `gpufleet` binary against it, as a
 * subprocess (never synchronously: the API answers from this process).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger, type CatalogEntry } from '@gpufleet/core';
import { CATALOG_DIR } from '@gpufleet/executers';
import { uniquePrefix, waitFor, type RedisServer, type TempDirs } from '@gpufleet/testkit';
import { createTracker, loadTrackerConfig, type Tracker } from '@gpufleet/tracker';
import { loadApiConfig, startApiServer, type ApiServer } from '@gpufleet/api';

export const BIN = fileURLToPath(new URL('../../dist/bin/gpufleet.js', import.meta.url));
export const PROBE_EXECUTERS = fileURLToPath(
  new URL('../../../tracker/test/fixtures/executers', import.meta.url),
);

/**
 * A catalog entry for a `probe` executer that no tracker runs, for tests that publish a catalog
 * themselves and leave the tasks waiting.
 */
export const WAITING_PROBE: CatalogEntry = {
  name: 'probe',
  version: '1.0.0',
  description: 'test executer',
  params: { type: 'object' },
  gpus: 0,
  timeLimitMs: 60_000,
  tracker: 'none',
  updatedAt: 0,
};

export interface CliFleet {
  url: string;
  token: string;
  prefix: string;
  dir: string;
  api: ApiServer;
  tracker: Tracker;
  /** Environment for the CLI: this fleet's URL and token, a HOME of its own. */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export interface CliFleetOptions {
  /** GPUFLEET_GPUS; default `0,1,2,3`. */
  gpus?: string;
  /** The nvidia-smi the tracker reads its GPUs with (a fake one: testkit's installFakeNvidiaSmi). */
  nvidiaSmi?: string;
  /** GPUFLEET_GPU_SAMPLE_MS; default the tracker's. */
  gpuSampleMs?: number;
  /** More of the tracker's environment (GPUFLEET_GPU_BUSY_MEMORY_MIB, ...). */
  trackerEnv?: Record<string, string>;
  /** More of the API's environment (GPUFLEET_API_KEYS_FILE beside the token, ...). */
  apiEnv?: Record<string, string>;
}

export async function startCliFleet(
  redis: RedisServer,
  temp: TempDirs,
  options: CliFleetOptions = {},
): Promise<CliFleet> {
  const dir = await temp.make();
  const prefix = uniquePrefix('cli');
  const token = `cli-test-token-${prefix}`;
  const artifacts = join(dir, 'artifacts');
  const api = await startApiServer(
    loadApiConfig({
      REDIS_URL: redis.url,
      GPUFLEET_PREFIX: prefix,
      ARTIFACT_STORE: artifacts,
      GPUFLEET_API_PORT: '0',
      GPUFLEET_API_TOKEN: token,
      LOG_LEVEL: 'silent',
      ...options.apiEnv,
    }),
    silentLogger(),
  );
  const tracker = await createTracker(
    loadTrackerConfig(
      {
        REDIS_URL: redis.url,
        GPUFLEET_PREFIX: prefix,
        ARTIFACT_STORE: artifacts,
        GPUFLEET_EXECUTERS: `${CATALOG_DIR}:${PROBE_EXECUTERS}`,
        GPUFLEET_ENABLE_OPT_IN_EXECUTERS: 'true',
        GPUFLEET_GPUS: options.gpus ?? '0,1,2,3',
        GPUFLEET_CPU_SLOTS: '2',
        GPUFLEET_WORKDIR: join(dir, 'work'),
        REDIS_CONSUMER_NAME: `tracker-${prefix}`.slice(0, 64),
        GPUFLEET_LEASE_MS: '3000',
        GPUFLEET_HEARTBEAT_MS: '500',
        GPUFLEET_BLOCK_MS: '200',
        GPUFLEET_KILL_GRACE_MS: '1000',
        GPUFLEET_SHUTDOWN_GRACE_MS: '500',
        LOG_LEVEL: 'silent',
        ...(options.gpuSampleMs === undefined ? {} : { GPUFLEET_GPU_SAMPLE_MS: String(options.gpuSampleMs) }),
        ...options.trackerEnv,
      },
      dir,
    ),
    silentLogger(),
    { nvidiaSmi: options.nvidiaSmi },
  );
  await tracker.start();
  const home = join(dir, 'home');
  await mkdir(home, { recursive: true });
  const env = { PATH: process.env.PATH ?? '', HOME: home, GPUFLEET_API_URL: api.url, GPUFLEET_TOKEN: token };
  await waitFor(async () => (await runCli(['executers', '--json'], { env })).stdout.includes('"probe"'), {
    message: 'the tracker’s executers are offered',
  });
  return {
    url: api.url,
    token,
    prefix,
    dir,
    api,
    tracker,
    env,
    async close() {
      await tracker.close();
      await api.close();
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface RunningCli {
  child: ChildProcess;
  /** Output so far. */
  readonly stdout: string;
  readonly stderr: string;
  done: Promise<CliResult>;
}

/** Starts `gpufleet ARGS`; its output is collected as it comes. */
export function startCli(args: readonly string[], options: CliOptions = {}): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: options.env ?? {},
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    done,
  };
}

export async function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** Parses `--json` output, with the output in the error when it is not JSON. */
export function parseJson<T>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

export function parseNdjson<T>(text: string): T[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

/** Writes files (`path → content`) under `dir`; `.sh` files are made executable. */
export async function writeFiles(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [path, body] of Object.entries(files)) {
    const target = join(dir, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, body);
    if (path.endsWith('.sh')) await chmod(target, 0o755);
  }
}
