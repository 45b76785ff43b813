/**
 * Finds a Redis for a local fleet: REDIS_URL when set; else the one on 127.0.0.1:6379 if it
 * answers; else a `redis-server` started here with AOF on and its data under the fleet's folder.
 * When none can be had it says exactly how to get one. A started redis-server runs in a process
 * group of its own, so a Ctrl-C at the terminal reaches only the fleet, which stops Redis last (after
 * the tracker has recorded what its running tasks did); it is stopped too when the fleet's process
 * exits without that (a second Ctrl-C).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { GpufleetError } from '@gpufleet/core';

export interface LocalRedis {
  url: string;
  /** How it was found: `REDIS_URL`, `local` (127.0.0.1:6379) or `started`. */
  source: 'REDIS_URL' | 'local' | 'started';
  stop(): Promise<void>;
}

export const HOW_TO_GET_REDIS = [
  'gpufleet needs Redis (7 or newer). Any one of these gives you one:',
  '  Debian/Ubuntu:  sudo apt-get install redis-server',
  '  macOS:          brew install redis',
  '  Docker:         docker run -d -p 6379:6379 redis:7 --appendonly yes',
  'then run this again, or point REDIS_URL at a Redis you have.',
].join('\n');

async function answers(url: string, timeoutMs = 1000): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function startRedisServer(dataDir: string): Promise<LocalRedis> {
  await mkdir(dataDir, { recursive: true });
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dataDir,
      '--appendonly',
      'yes',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
      '--logfile',
      join(dataDir, 'redis.log'),
    ],
    { stdio: 'ignore', detached: true },
  );
  const killOnExit = (): void => void child.kill('SIGTERM');
  const forget = (): void => void process.removeListener('exit', killOnExit);
  process.once('exit', killOnExit);
  child.once('error', forget);
  child.once('exit', forget);
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new GpufleetError(
              'REDIS_UNAVAILABLE',
              `no Redis answers on 127.0.0.1:6379 and redis-server is not installed.\n${HOW_TO_GET_REDIS}`,
            )
          : error,
      ),
    );
    child.once('exit', (code) =>
      reject(
        new GpufleetError(
          'REDIS_UNAVAILABLE',
          `redis-server exited with code ${code}; see ${join(dataDir, 'redis.log')}`,
        ),
      ),
    );
  });
  const url = `redis://127.0.0.1:${port}`;
  const ready = (async (): Promise<void> => {
    for (let i = 0; i < 100; i++) {
      if (await answers(url, 200)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new GpufleetError(
      'REDIS_UNAVAILABLE',
      `redis-server did not answer on ${url}; see ${join(dataDir, 'redis.log')}`,
    );
  })();
  await Promise.race([ready, failed]);
  child.removeAllListeners('exit');
  child.once('exit', forget);
  return {
    url,
    source: 'started',
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** With `own`, always starts a redis-server of its own (tests, CI: leave the machine's Redis alone). */
export async function findLocalRedis(
  env: NodeJS.ProcessEnv,
  dataDir: string,
  own = false,
): Promise<LocalRedis> {
  if (env.REDIS_URL && !own) return { url: env.REDIS_URL, source: 'REDIS_URL', stop: async () => undefined };
  const local = 'redis://127.0.0.1:6379';
  if (!own && (await answers(local))) return { url: local, source: 'local', stop: async () => undefined };
  return startRedisServer(join(dataDir, 'redis'));
}
