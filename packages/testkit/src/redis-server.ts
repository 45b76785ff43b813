import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from './free-port.js';
import { makeTempDir, removeDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

export interface RedisServerOptions {
  /** Keep an append-only file, so `restart()` after `kill()` replays it. Default false. */
  appendOnly?: boolean;
  /** When the append-only file is fsynced. Default 'everysec' (Redis's default). */
  appendFsync?: 'always' | 'everysec' | 'no';
  /** More redis-server arguments, as on its command line (`['--rename-command', 'FCALL', '""']`). */
  extraArgs?: readonly string[];
}

/** A real redis-server on 127.0.0.1, on a free port, with its own data folder. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  /** The data folder (AOF, `redis.log`); removed by `stop()`. */
  readonly dir: string;
  /** Process id of the current redis-server process (a new one after `restart()`). */
  readonly pid: number;
  /** A new ioredis client, disconnected by `stop()`. Connection errors are not logged. */
  client(options?: RedisOptions): Redis;
  /** Sends `signal` (default SIGKILL) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts redis-server again on the same port and folder (an AOF is replayed); waits for PING. */
  restart(): Promise<void>;
  /** Closes the clients, stops the process (SIGTERM) and removes the folder. Safe to call twice. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
const PORT_ATTEMPTS = 5;
const STOP_TIMEOUT_MS = 10_000;
const running = new Set<ChildProcess>();
process.on('exit', () => running.forEach((child) => child.kill('SIGKILL')));

interface LaunchSpec {
  readonly binary: string;
  readonly port: number;
  readonly dir: string;
  readonly options: RedisServerOptions;
}

interface Launched {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<void>;
  hasExited(): boolean;
}

class PortInUseError extends Error {}

/** Starts a real redis-server (from PATH) on a free port with a fresh data folder. */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = await findOnPath('redis-server');
  const dir = await makeTempDir('gpufleet-redis-');
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        const spec = { binary, port, dir, options };
        return new RunningRedis(spec, await launch(spec));
      } catch (error) {
        if (!(error instanceof PortInUseError) || attempt >= PORT_ATTEMPTS) throw error;
      }
    }
  } catch (error) {
    await removeDir(dir);
    throw error;
  }
}

class RunningRedis implements RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  #launched: Launched;
  #clients = new Set<Redis>();
  #stopped: Promise<void> | undefined;

  constructor(
    private readonly spec: LaunchSpec,
    launched: Launched,
  ) {
    this.port = spec.port;
    this.url = `redis://127.0.0.1:${spec.port}`;
    this.dir = spec.dir;
    this.#launched = launched;
  }

  get pid(): number {
    return this.#launched.pid;
  }

  client(options: RedisOptions = {}): Redis {
    if (this.#stopped) throw new Error(`redis-server on port ${this.port} was stopped`);
    const client = new Redis({ host: '127.0.0.1', port: this.port, ...options });
    client.on('error', () => undefined); // commands still reject; this only silences ioredis's log
    this.#clients.add(client);
    client.once('end', () => this.#clients.delete(client));
    return client;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.#launched.hasExited()) this.#launched.child.kill(signal);
    await this.#launched.exited;
  }

  async restart(): Promise<void> {
    if (this.#stopped) throw new Error(`redis-server on port ${this.port} was stopped`);
    await this.kill('SIGTERM');
    this.#launched = await launch(this.spec);
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    await Promise.all([...this.#clients].map((client) => quit(client)));
    this.#clients.clear();
    const { child, exited, hasExited } = this.#launched;
    if (!hasExited()) child.kill('SIGTERM');
    if (!(await settlesWithin(exited, STOP_TIMEOUT_MS))) {
      child.kill('SIGKILL');
      await exited;
    }
    await removeDir(this.dir);
  }
}

/** Spawns redis-server and waits until it (this very process) answers PING. */
async function launch({ binary, port, dir, options }: LaunchSpec): Promise<Launched> {
  const logFile = join(dir, 'redis.log');
  const logStart = (await stat(logFile).catch(() => null))?.size ?? 0;
  const appendOnly = options.appendOnly ? 'yes' : 'no';
  const args = ['--port', `${port}`, '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no'];
  args.push(
    '--appendonly',
    appendOnly,
    '--appendfsync',
    options.appendFsync ?? 'everysec',
    '--logfile',
    logFile,
    ...(options.extraArgs ?? []),
  );
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)));
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => child.pid === undefined && resolve());
  }).then(() => {
    exited = true;
    running.delete(child);
  });
  running.add(child);
  const state = await waitFor(async () => (exited ? 'exited' : (await ping(port)) === child.pid && 'ready'), {
    timeoutMs: START_TIMEOUT_MS,
  }).catch(() => 'timeout' as const);
  if (state === 'ready') return { child, pid: child.pid ?? -1, exited: exit, hasExited: () => exited };
  child.kill('SIGKILL');
  await exit;
  const log = (await readFile(logFile).catch(() => Buffer.alloc(0))).subarray(logStart).toString() + stderr;
  const tail = log.trimEnd().split('\n').slice(-15).join('\n');
  const what =
    state === 'exited' ? 'exited while starting' : `did not answer PING within ${START_TIMEOUT_MS} ms`;
  const message = `redis-server on port ${port} ${what}; the end of its log:\n${tail}`;
  throw /Address already in use/.test(log) ? new PortInUseError(message) : new Error(message);
}

/** PING and INFO over a raw socket: the pid of the redis-server answering PONG, or null. */
function ping(port: number, timeoutMs = 250): Promise<number | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (pid: number | null): void => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(timeoutMs, () => done(null));
    socket.on('error', () => done(null));
    socket.on('connect', () => socket.write('PING\r\nINFO server\r\n'));
    socket.setEncoding('utf8').on('data', (text: string) => {
      reply += text;
      if (reply.startsWith('-') && reply.includes('\r\n')) return done(null); // -LOADING
      const pid = /process_id:(\d+)\r\n/.exec(reply)?.[1];
      if (pid !== undefined) done(reply.startsWith('+PONG\r\n') ? Number(pid) : null);
    });
  });
}

async function findOnPath(name: string): Promise<string> {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  throw new Error(
    `${name} was not found on PATH; install it (apt-get install redis-server) to run these tests`,
  );
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'ready') await settlesWithin(client.quit(), 1000);
  client.disconnect();
}

/** Whether `promise` settles within `ms` (its rejection is swallowed). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  const settled = promise.then(
    () => true as const,
    () => true as const,
  );
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Registers `beforeAll`/`afterAll` in the calling test file: one redis-server for the file. */
export function useRedis(options?: RedisServerOptions): { readonly server: RedisServer } {
  let current: RedisServer | undefined;
  beforeAll(async () => {
    current = await startRedis(options);
  });
  afterAll(async () => {
    await current?.stop();
  });
  return {
    get server(): RedisServer {
      if (!current)
        throw new Error('useRedis: the server starts in beforeAll; read .server inside a test or hook');
      return current;
    },
  };
}

let prefixCount = 0;

/** A key prefix no other call returns (`t1a2b3`, or `name-1a2b3`), so each test has its own keys. */
export function uniquePrefix(name?: string): string {
  const id = `${(++prefixCount).toString(36)}${randomBytes(3).toString('hex')}`;
  return name === undefined ? `t${id}` : `${name}-${id}`;
}
