import { access } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { portAnswers, startRedis, uniquePrefix, useRedis, waitFor } from '../src/index.js';
import type { RedisServer } from '../src/index.js';

const shared = useRedis();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function withServer(
  options: Parameters<typeof startRedis>[0],
  body: (server: RedisServer) => Promise<void>,
): Promise<void> {
  const server = await startRedis(options);
  try {
    await body(server);
  } finally {
    await server.stop();
  }
}

describe('startRedis', () => {
  it('serves SET and GET through client()', async () => {
    const { server } = shared;
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    const client = server.client();
    const key = `${uniquePrefix()}:k`;
    await client.set(key, 'v1');
    expect(await client.get(key)).toBe('v1');
    expect(await server.client().get(key)).toBe('v1');
  });

  it('keeps a key written before a SIGKILL when restarted with an append-only file', async () => {
    await withServer({ appendOnly: true, appendFsync: 'always' }, async (server) => {
      const client = server.client();
      await client.set('durable', 'yes');
      const { pid, port } = server;
      await server.kill();
      expect(isAlive(pid)).toBe(false);
      await server.restart();
      expect(server.pid).not.toBe(pid);
      expect(server.port).toBe(port);
      expect(await server.client().get('durable')).toBe('yes');
      expect(await client.get('durable')).toBe('yes'); // the first client reconnects
    });
  });

  it('loses the key after a SIGKILL without an append-only file (so restart really restarts)', async () => {
    await withServer({}, async (server) => {
      await server.client().set('volatile', 'yes');
      await server.kill();
      await server.restart();
      expect(await server.client().get('volatile')).toBeNull();
    });
  });

  it('stop() removes the folder, ends the clients and frees the port; twice is fine', async () => {
    const server = await startRedis();
    const client = server.client();
    await client.ping();
    const pid = server.pid;
    await Promise.all([server.stop(), server.stop()]);
    await server.stop();
    await expect(access(server.dir)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await portAnswers(server.port)).toBe(false);
    expect(isAlive(pid)).toBe(false);
    expect(client.status).toBe('end');
    expect(() => server.client()).toThrow(/stopped/);
  });

  it('gives two servers different ports, folders and data', async () => {
    const [a, b] = await Promise.all([startRedis(), startRedis()]);
    try {
      expect(a.port).not.toBe(b.port);
      expect(a.dir).not.toBe(b.dir);
      await a.client().set('only-a', '1');
      expect(await b.client().get('only-a')).toBeNull();
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('says how to install redis-server when it is not on PATH', async () => {
    const path = process.env['PATH'];
    process.env['PATH'] = '/nonexistent-gpufleet';
    try {
      await expect(startRedis()).rejects.toThrow(/apt-get install redis-server/);
    } finally {
      process.env['PATH'] = path;
    }
  });
});

describe('uniquePrefix', () => {
  it('never repeats', () => {
    const prefixes = new Set(Array.from({ length: 1000 }, () => uniquePrefix()));
    expect(prefixes.size).toBe(1000);
    expect(uniquePrefix('jobs')).toMatch(/^jobs-[0-9a-z]+$/);
  });
});

describe('waitFor', () => {
  it('returns the first truthy value', async () => {
    let calls = 0;
    expect(await waitFor(() => (++calls >= 3 ? calls : 0))).toBe(3);
  });

  it('times out naming the message and the last error', async () => {
    const failing = waitFor(
      () => {
        throw new Error('still booting');
      },
      { timeoutMs: 50, message: 'the tracker' },
    );
    await expect(failing).rejects.toThrow(
      /the tracker not met within 50 ms \(last error: Error: still booting\)/,
    );
  });
});
