// How many clients a service has (src/service/client-connections.ts), read from the kernel's TCP
// tables, with a real server and real client sockets: connections to the service's ports count
// once each, over IPv4 and IPv6, and stop counting when they close; connections to other ports do
// not count. The idle watcher calls back once after the idle time with no connection, and a
// connection holds it off. Linux only (where the tests run); elsewhere there is no count.
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  countClientConnections,
  establishedByLocalPort,
  watchIdle,
  type IdleWatch,
} from '../src/service/client-connections.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
const watches: IdleWatch[] = [];
afterEach(async () => {
  for (const watch of watches.splice(0)) watch.close();
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A listening server, and the server ends of its connections as they come. */
async function listen(host = '127.0.0.1'): Promise<{ server: Server; port: number; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const server = createServer((socket) => {
    accepted.push(socket);
    sockets.push(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as { port: number }).port, accepted };
}

async function client(port: number, host = '127.0.0.1'): Promise<Socket> {
  const socket = connect({ port, host });
  sockets.push(socket);
  await once(socket, 'connect');
  return socket;
}

/** Closes the client, and resolves once the server's end has seen it go. */
async function hangUp(socket: Socket, serverEnd: Socket): Promise<void> {
  const gone = once(serverEnd, 'close');
  socket.destroy();
  await gone;
}

const hasIpv6 = await new Promise<boolean>((resolve) => {
  const server = createServer();
  server.once('error', () => resolve(false));
  server.listen({ port: 0, host: '::1' }, () => server.close(() => resolve(true)));
});

describe('countClientConnections', () => {
  it.runIf(process.platform === 'linux')('counts the clients connected to the ports, once each', async () => {
    const service = await listen();
    const other = await listen();
    expect(await countClientConnections([service.port])).toBe(0);
    const a = await client(service.port);
    await client(service.port);
    await client(other.port);
    expect(await countClientConnections([service.port])).toBe(2);
    expect(await countClientConnections([service.port, other.port])).toBe(3);
    await hangUp(a, service.accepted[0]!);
    expect(await countClientConnections([service.port])).toBe(1);
  });

  it.runIf(process.platform === 'linux' && hasIpv6)('counts IPv6 clients too', async () => {
    const service = await listen('::1');
    await client(service.port, '::1');
    expect(await countClientConnections([service.port])).toBe(1);
  });

  it('has no count where there is no /proc/net/tcp to read', async () => {
    expect(await countClientConnections([80], { platform: 'darwin' })).toBeNull();
    expect(
      watchIdle({ ports: [80], idleTimeoutMs: 1, onIdle: () => undefined, platform: 'win32' }),
    ).toBeNull();
  });

  it('reads established connections by local port from a table', () => {
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:4E21 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1',
      '   1: 0100007F:4E21 0100007F:B3F0 01 00000000:00000000 00:00000000 00000000  1000        0 2 1',
      '   2: 0100007F:B3F0 0100007F:4E21 01 00000000:00000000 00:00000000 00000000  1000        0 3 1',
      '   3: 0100007F:4E21 0100007F:B3F2 06 00000000:00000000 00:00000000 00000000  1000        0 4 1',
    ].join('\n');
    expect(establishedByLocalPort(table)).toEqual(
      new Map([
        [0x4e21, 1],
        [0xb3f0, 1],
      ]),
    );
  });
});

describe.runIf(process.platform === 'linux')('watchIdle', () => {
  it('calls back once after the idle time with no connection, and stops looking', async () => {
    const service = await listen();
    const started = Date.now();
    let idle = 0;
    const polls: Array<number | null> = [];
    const fired = new Promise<void>((resolve) => {
      const watch = watchIdle({
        ports: [service.port],
        idleTimeoutMs: 300,
        pollMs: 50,
        onPoll: (n) => polls.push(n),
        onIdle: () => {
          idle += 1;
          resolve();
        },
      });
      if (watch) watches.push(watch);
    });
    await fired;
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(idle).toBe(1);
    expect(polls.every((n) => n === 0)).toBe(true);
    const before = polls.length;
    // One more round of the event loop's timers and I/O: no look was scheduled after the callback.
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(polls.length).toBe(before);
    expect(idle).toBe(1);
  });

  it('is held off by a connection, and counts the idle time from when it closed', async () => {
    const service = await listen();
    const socket = await client(service.port);
    const started = Date.now();
    let idleAt = 0;
    let resolvePolls: () => void = () => undefined;
    const heldOff = new Promise<void>((resolve) => (resolvePolls = resolve));
    const fired = new Promise<void>((resolve) => {
      const watch = watchIdle({
        ports: [service.port],
        idleTimeoutMs: 300,
        pollMs: 50,
        // Connected for three idle times, looked at all along: not idle.
        onPoll: (n) => {
          if (n === 1 && Date.now() - started > 900) resolvePolls();
        },
        onIdle: () => {
          idleAt = Date.now();
          resolve();
        },
      });
      if (watch) watches.push(watch);
    });
    await heldOff;
    expect(idleAt).toBe(0);
    const closedAt = Date.now();
    await hangUp(socket, service.accepted[0]!);
    await fired;
    expect(idleAt - closedAt).toBeGreaterThanOrEqual(250);
  });

  it('stops when closed before the idle time', async () => {
    const service = await listen();
    let idle = false;
    let polls = 0;
    const firstPoll = new Promise<void>((resolve) => {
      const watch = watchIdle({
        ports: [service.port],
        idleTimeoutMs: 200,
        pollMs: 20,
        onPoll: () => {
          polls += 1;
          watch?.close();
          resolve();
        },
        onIdle: () => (idle = true),
      });
    });
    await firstPoll;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect({ polls, idle }).toEqual({ polls: 1, idle: false });
  });
});
