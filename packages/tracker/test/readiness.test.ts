// Waiting for a service to become ready (src/service/readiness.ts), against real servers: a TCP and
// an HTTP server process that start listening late, an HTTP server answering 500 before 200, a
// process's stdout read line by line; and the ways the wait fails: the start timeout (saying what
// the last try found), the caller's abort, stdout ending. No timer or socket outlives the wait.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceNotReadyError, waitForReadiness } from '../src/service/readiness.js';

const LATE_SERVER = fileURLToPath(new URL('./fixtures/late-server.mjs', import.meta.url));

const children: ChildProcess[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The late-server fixture, and the lines of its stdout as they come (a readline Interface). */
function lateServer(kind: 'tcp' | 'http', port: number, delayMs: number) {
  const child = spawn(process.execPath, [LATE_SERVER, kind, String(port), String(delayMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const lines = createInterface({ input: child.stdout });
  const seen: string[] = [];
  lines.on('line', (line) => seen.push(line));
  return { lines, seen };
}

/** An HTTP server answering each request with the next status of `statuses` (the last one after). */
async function httpServer(statuses: number[]): Promise<{ port: number; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    res.statusCode = statuses[Math.min(requests.length, statuses.length) - 1] ?? 200;
    res.end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, requests };
}

/** How many timers and TCP sockets this process holds open. */
function openHandles(): { timers: number; sockets: number } {
  const info = process.getActiveResourcesInfo();
  return {
    timers: info.filter((r) => r === 'Timeout').length,
    sockets: info.filter((r) => r === 'TCPSocketWrap').length,
  };
}

/** Once closed handles are gone: no more timers or sockets open than `before` (others' may have ended). */
async function expectNoMoreOpenThan(before: { timers: number; sockets: number }): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  const now = openHandles();
  expect(now.timers).toBeLessThanOrEqual(before.timers);
  expect(now.sockets).toBeLessThanOrEqual(before.sockets);
}

async function notReady(wait: Promise<void>): Promise<ServiceNotReadyError> {
  const error: unknown = await wait.then(
    () => new Error('the service was found ready'),
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ServiceNotReadyError);
  expect((error as ServiceNotReadyError).code).toBe('SERVICE_NOT_READY');
  return error as ServiceNotReadyError;
}

describe('waitForReadiness', () => {
  it('waits for a TCP server process that starts listening late', async () => {
    const port = await freePort();
    const { seen } = lateServer('tcp', port, 300);
    await waitForReadiness({ check: { tcp: 'control' }, ports: { control: port }, timeoutMs: 10_000 });
    expect(seen).toContain(`listening on ${port}`);
  });

  it('waits for an HTTP server process that starts listening late', async () => {
    const port = await freePort();
    const { seen } = lateServer('http', port, 300);
    const check = { http: { port: 'http', path: '/healthz' } };
    await waitForReadiness({ check, ports: { http: port }, timeoutMs: 10_000 });
    expect(seen).toContain(`listening on ${port}`);
  });

  it('takes a 500 for not ready, and GETs the path until it answers 2xx', async () => {
    const { port, requests } = await httpServer([500, 503, 204]);
    const check = { http: { port: 'http', path: '/healthz?deep=1' } };
    await waitForReadiness({ check, ports: { http: port }, timeoutMs: 10_000 });
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /healthz?deep=1',
      'GET /healthz?deep=1',
      'GET /healthz?deep=1',
    ]);
  });

  it('waits for a line of a real process’s stdout matching the pattern', async () => {
    const port = await freePort();
    const { lines, seen } = lateServer('tcp', port, 200);
    await waitForReadiness({
      check: { stdout: '^listening on \\d+$' },
      ports: {},
      stdout: lines,
      timeoutMs: 10_000,
    });
    expect(seen).toEqual(['warming up', `listening on ${port}`]);
    expect(lines.listenerCount('line')).toBe(1); // only this test's own
  });

  it('fails when stdout ends before a line matched, and stops listening', async () => {
    const lines = new EventEmitter();
    const wait = waitForReadiness({
      check: { stdout: 'ready' },
      ports: {},
      stdout: lines,
      timeoutMs: 10_000,
    });
    lines.emit('line', 'loading the scene');
    lines.emit('close');
    const error = await notReady(wait);
    expect(error.why).toBe('stdout-closed');
    expect(error.message).toMatch(/stdout ended without a line of stdout matching \/ready\//);
    expect(lines.listenerCount('line') + lines.listenerCount('close')).toBe(0);
  });

  it('gives up at the start timeout, saying what the last try found, and leaves nothing open', async () => {
    const port = await freePort();
    const before = openHandles();
    const started = Date.now();
    const error = await notReady(
      waitForReadiness({ check: { tcp: 'c' }, ports: { c: port }, timeoutMs: 300 }),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(295);
    expect(error.why).toBe('timeout');
    expect(error.message).toMatch(
      new RegExp(
        `^not ready within its start timeout of 300 ms: waited for a TCP connection to 127\\.0\\.0\\.1:${port} ` +
          `\\(port c\\); the last try: TCP connect to 127\\.0\\.0\\.1:${port} failed: ECONNREFUSED$`,
      ),
    );
    await expectNoMoreOpenThan(before);
  });

  it('says when the HTTP check kept answering 500 until the timeout', async () => {
    const { port } = await httpServer([500]);
    const check = { http: { port: 'http', path: '/' } };
    const error = await notReady(waitForReadiness({ check, ports: { http: port }, timeoutMs: 300 }));
    expect(error.message).toContain(`the last try: GET http://127.0.0.1:${port}/ answered 500`);
  });

  it('stops at once when the signal aborts, and leaves nothing open', async () => {
    const { port, requests } = await httpServer([500]);
    const before = openHandles();
    const abort = new AbortController();
    const check = { http: { port: 'http', path: '/' } };
    const wait = waitForReadiness({ check, ports: { http: port }, timeoutMs: 60_000, signal: abort.signal });
    const server = servers[0]!;
    while (requests.length < 2) await once(server, 'request');
    abort.abort(new Error('the service exited with code 1'));
    const error = await notReady(wait);
    expect(error.why).toBe('aborted');
    expect(error.message).toMatch(/: the service exited with code 1; the last try: .* answered 500$/);
    server.closeAllConnections();
    await expectNoMoreOpenThan(before);
  });

  it('stops a stdout wait when the signal aborts, and refuses an aborted signal at once', async () => {
    const lines = new EventEmitter();
    const abort = new AbortController();
    const check = { stdout: 'ready' };
    const wait = waitForReadiness({
      check,
      ports: {},
      stdout: lines,
      timeoutMs: 60_000,
      signal: abort.signal,
    });
    abort.abort(new Error('cancelled'));
    expect((await notReady(wait)).why).toBe('aborted');
    expect(lines.listenerCount('line')).toBe(0);
    const again = waitForReadiness({
      check,
      ports: {},
      stdout: lines,
      timeoutMs: 60_000,
      signal: abort.signal,
    });
    expect((await notReady(again)).message).toBe(
      'stopped waiting for a line of stdout matching /ready/: cancelled',
    );
  });

  it('refuses a check it cannot make', async () => {
    const noLines = await notReady(waitForReadiness({ check: { stdout: 'x' }, ports: {}, timeoutMs: 1000 }));
    expect(noLines.why).toBe('misconfigured');
    const noPort = await notReady(waitForReadiness({ check: { tcp: 'http' }, ports: {}, timeoutMs: 1000 }));
    expect(noPort.message).toBe('no port was allocated for "http", which readiness names');
  });
});
