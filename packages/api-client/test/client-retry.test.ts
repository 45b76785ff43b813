// The client through failures of a real fleet: Redis down (the API answers 503) during a submit,
// an API that is not listening yet, an API that never comes, and a log stream whose connection
// is cut mid-way (it resumes after the last entry, losing and repeating nothing).
import { createServer as createTcpServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@gpufleet/core';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import { loadApiConfig, startApiServer } from '@gpufleet/api';
import { ApiUnreachableError, GpufleetClient } from '@gpufleet/api-client';
import { startCliFleet, type CliFleet } from './helpers/cli-fleet.js';

const redis = useRedis({ appendOnly: true });
const temp = useTempDirs();
let fleet: CliFleet;

beforeAll(async () => {
  fleet = await startCliFleet(redis.server, temp);
});
afterAll(async () => {
  await fleet?.close();
});

function counting(): { fetch: typeof fetch; calls: () => number } {
  let calls = 0;
  return {
    fetch: (input, init) => {
      calls++;
      return fetch(input, init);
    },
    calls: () => calls,
  };
}

async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

describe('retries', () => {
  it('keeps a submit going while Redis is down (503) and makes exactly one task', async () => {
    const counter = counting();
    const client = new GpufleetClient({ url: fleet.url, token: fleet.token, fetch: counter.fetch });
    await redis.server.kill();
    const submitted = client.submit({ executer: 'probe', params: { sleepMs: 1 } });
    await waitFor(() => counter.calls() >= 3, { message: 'submit retried while Redis was down' });
    await redis.server.restart();
    const task = await submitted;
    expect(task.submission.replayed).toBe(false);
    expect((await task.wait()).status).toBe('succeeded');
    const same = [];
    for await (const t of client.tasks({ executer: 'probe' })) {
      if ((await client.getTask(t.id)).idempotencyKey === task.idempotencyKey) same.push(t.id);
    }
    expect(same).toEqual([task.id]);
  });

  it('waits for an API that is not listening yet', async () => {
    const port = await freePort();
    const counter = counting();
    const client = new GpufleetClient({
      url: `http://127.0.0.1:${port}`,
      token: fleet.token,
      fetch: counter.fetch,
    });
    const queues = client.queues();
    await waitFor(() => counter.calls() >= 2, { message: 'connection refused, retried' });
    const late = await startApiServer(
      loadApiConfig({
        REDIS_URL: redis.server.url,
        GPUFLEET_PREFIX: fleet.prefix,
        ARTIFACT_STORE: `${fleet.dir}/artifacts`,
        GPUFLEET_API_PORT: String(port),
        GPUFLEET_API_TOKEN: fleet.token,
        LOG_LEVEL: 'silent',
      }),
      silentLogger(),
    );
    try {
      expect((await queues).queues.map((q) => q.queue)).toEqual(['default']);
    } finally {
      await late.close();
    }
  });

  it('gives up with ApiUnreachableError when the budget is spent', async () => {
    const client = new GpufleetClient({ url: `http://127.0.0.1:${await freePort()}`, retryForMs: 300 });
    const started = Date.now();
    await expect(client.queues()).rejects.toBeInstanceOf(ApiUnreachableError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
});

describe('following through a dropped connection', () => {
  let proxy: Server;
  let cut: (() => void) | null = null;
  const open = new Set<Socket>();

  afterAll(async () => {
    open.forEach((s) => s.destroy());
    await new Promise((resolve) => proxy?.close(resolve));
  });

  it('resumes the log stream after the last entry it had', async () => {
    const target = new URL(fleet.url);
    const sockets: Socket[] = [];
    proxy = createTcpServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      sockets.push(client, upstream);
      open.add(client).add(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
      cut = () => sockets.splice(0).forEach((s) => s.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const address = proxy.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const direct = new GpufleetClient({ url: fleet.url, token: fleet.token });
    const viaProxy = new GpufleetClient({ url: `http://127.0.0.1:${port}`, token: fleet.token });
    const job = await direct.submit({
      executer: 'probe',
      params: { sleepMs: 1500, files: { 'a.txt': 'a' } },
    });
    const seen: string[] = [];
    let dropped = false;
    for await (const item of viaProxy.task(job.id).followLogs()) {
      if (item.type === 'log') seen.push(item.text);
      if (item.type === 'log' && !dropped) {
        dropped = true;
        cut?.(); // the connection dies after the first chunk
      }
      if (item.type === 'end') expect(item.status).toBe('succeeded');
    }
    expect(dropped).toBe(true);
    const all = (await direct.task(job.id).logs()).text;
    expect(seen.join('')).toBe(all);
    expect(all).toContain(`probe ${job.id} starting`);
    expect(all).toContain('probe: a line on stderr');
  });
});
