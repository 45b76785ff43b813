// The `gpufleet` binary against an API it cannot use: a wrong GPUFLEET_API_URL (nothing listens),
// a server that drops every connection, and an API that answers 503. Each time it says at once, on
// stderr, that it is retrying and where, and says it once however many retries follow; then it
// gives up when --retry-for is spent.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { useTempDirs, waitFor } from '@gpufleet/testkit';
import { startCli } from './helpers/cli-fleet.js';

const temp = useTempDirs();
const servers: Array<Server | HttpServer> = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

async function listen<T extends Server | HttpServer>(server: T): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

/** A port on which nothing listens (bound, then closed). */
async function closedPortUrl(): Promise<string> {
  const server = createTcpServer();
  const url = await listen(server);
  servers.splice(servers.indexOf(server), 1);
  await new Promise((resolve) => server.close(resolve));
  return url;
}

async function cliAt(url: string, args: string[]) {
  const home = await temp.make();
  return startCli(args, { env: { PATH: process.env.PATH ?? '', HOME: home, GPUFLEET_API_URL: url } });
}

const notices = (stderr: string): string[] => stderr.split('\n').filter((line) => line.includes('retrying'));

describe('gpufleet with an API it cannot reach', () => {
  it('says at once that it retries, and where, before it gives up', async () => {
    const url = await closedPortUrl();
    const cli = await cliAt(url, ['queues', '--retry-for', '3s']);
    // Said while it still retries, not when it gives up 3 s later.
    await waitFor(() => cli.stderr.includes('retrying'), { timeoutMs: 10_000, message: 'a retry notice' });
    expect(cli.child.exitCode).toBeNull();
    expect(notices(cli.stderr)).toEqual([
      `gpufleet: the gpufleet API at ${url} cannot be reached (ECONNREFUSED); retrying for up to 3s (--retry-for)...`,
    ]);
    const result = await cli.done;
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(new RegExp(`\\ngpufleet: the gpufleet API at ${url} cannot be reached`));
    expect(notices(result.stderr)).toHaveLength(1);
  });

  it('says it once, however many times it retries', async () => {
    let connections = 0;
    const url = await listen(
      // Reads the request, then drops the connection. (One dropped before the request is sent can
      // leave Node 20's fetch pending for ever, which is not what this test is about.)
      createTcpServer((socket) => {
        connections++;
        socket.once('data', () => socket.destroy());
      }),
    );
    const cli = await cliAt(url, ['queues', '--retry-for', '2s']);
    const result = await cli.done;
    expect(connections).toBeGreaterThanOrEqual(4);
    expect(result.code).toBe(3);
    expect(notices(result.stderr)).toHaveLength(1);
    expect(notices(result.stderr)[0]).toMatch(
      new RegExp(`^gpufleet: the gpufleet API at ${url} cannot be reached \\(.+\\); retrying for up to 2s`),
    );
  });

  it('says the API is busy when it answers 503', async () => {
    let requests = 0;
    const url = await listen(
      createHttpServer((_request, response) => {
        requests++;
        response.writeHead(503, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({ error: { code: 'REDIS_UNAVAILABLE', message: 'Redis is unavailable' } }),
        );
      }),
    );
    const cli = await cliAt(url, ['queues', '--retry-for', '1s']);
    await waitFor(() => cli.stderr.includes('retrying'), { timeoutMs: 10_000, message: 'a retry notice' });
    expect(cli.child.exitCode).toBeNull();
    const result = await cli.done;
    expect(requests).toBeGreaterThanOrEqual(2);
    expect(notices(result.stderr)).toEqual([
      `gpufleet: the gpufleet API at ${url} answered 503 (Redis is unavailable); retrying for up to 1s (--retry-for)...`,
    ]);
  });
});
