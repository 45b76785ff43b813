// The sim-server executer, the catalog's example service: its manifest loads through the real
// loader with a service block of two ports, and buildArgv turns it into a command that starts the
// server on the ports the tracker allocated. The launcher runs here as a real child process on free
// ports: /healthz over HTTP, the line protocol over TCP (HELLO, PING, STEP, errors, QUIT), bad
// input and client resets, the environment fallback, failAfterMs (exit 3), readyDelayMs, SIGTERM (exit 0).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { buildArgv, loadExecuters, ValidationError, type LoadedExecuter } from '@gpufleet/core';
import { CATALOG_DIR } from '@gpufleet/executers';

const DIR = join(CATALOG_DIR, 'sim-server');
const SCRIPT = join(DIR, 'run-sim-server.mjs');
const LISTENING = /^listening control=(\d+) http=(\d+)$/;

/** A type, not an interface, so that it fits ArgvContext's ports record. */
type Ports = { control: number; http: number };
type Exit = { code: number | null; signal: NodeJS.Signals | null };
interface Sim {
  child: ChildProcess;
  /** The ports of the `listening` line; rejects when the process ends without one. */
  listening: Promise<Ports>;
  /** Resolves when the process has ended and its output is read. */
  exited: Promise<Exit>;
  stderr(): string;
}

/** Two different ports nothing listens on now: bound to 0 together, then let go. */
async function freePorts(): Promise<Ports> {
  const servers = [createServer(), createServer()];
  const [control, http] = await Promise.all(
    servers.map(async (server) => {
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return (server.address() as { port: number }).port;
    }),
  );
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return { control: control!, http: http! };
}

const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill();
});

/** Starts `node ARGS...` with only the GPUFLEET_PORT_* variables of `env` (none inherited). */
function startSim(args: string[], env: Record<string, string> = {}): Sim {
  const unset = { GPUFLEET_PORT_CONTROL: undefined, GPUFLEET_PORT_HTTP: undefined };
  const child = spawn(process.execPath, args, { env: { ...process.env, ...unset, ...env } });
  running.push(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exit>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const listening = new Promise<Ports>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = LISTENING.exec(line);
      if (m) resolve({ control: Number(m[1]), http: Number(m[2]) });
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`sim-server ended (code ${code}, signal ${signal}) before listening: ${stderr}`)),
    );
  });
  listening.catch(() => {}); // awaited by the tests that expect it
  return { child, listening, exited, stderr: () => stderr };
}

async function startOnFreePorts(...flags: string[]): Promise<Sim & { ports: Ports }> {
  const ports = await freePorts();
  const portFlags = ['--control-port', String(ports.control), `--http-port=${ports.http}`];
  const sim = startSim([SCRIPT, ...portFlags, ...flags]);
  expect(await sim.listening).toEqual(ports);
  return { ...sim, ports };
}

/** A TCP client of the control port that reads whole lines; next() gives null once it is closed. */
class LineClient {
  private readonly lines: string[] = [];
  private readonly waiters: ((line: string | null) => void)[] = [];
  private ended = false;
  constructor(readonly socket: Socket) {
    socket.on('error', () => {});
    const reader = createInterface({ input: socket });
    reader.on('line', (line) =>
      this.waiters.length > 0 ? this.waiters.shift()!(line) : this.lines.push(line),
    );
    reader.on('close', () => {
      this.ended = true;
      for (const waiter of this.waiters.splice(0)) waiter(null);
    });
  }
  next(): Promise<string | null> {
    if (this.lines.length > 0) return Promise.resolve(this.lines.shift()!);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  ask(line: string): Promise<string | null> {
    this.socket.write(`${line}\n`);
    return this.next();
  }
}

async function dial(port: number): Promise<LineClient> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  return new LineClient(socket);
}

async function healthz(port: number, path = '/healthz'): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.json() };
}

async function loadSimServer(): Promise<LoadedExecuter> {
  const executer = (await loadExecuters([DIR])).get('sim-server');
  expect(executer).toBeDefined();
  return executer!;
}

describe('sim-server manifest', () => {
  it('loads through the manifest loader as a service with control and http ports', async () => {
    const { manifest } = await loadSimServer();
    expect(manifest.service).toEqual({
      ports: ['control', 'http'],
      ready: { http: { port: 'http', path: '/healthz' } },
      startTimeoutMs: 30_000,
      idleTimeoutMs: 600_000,
      restart: { count: 3, backoffMs: 500 },
    });
    expect(manifest.resources).toEqual({ gpus: 1, timeLimitMs: 86_400_000 });
    expect(manifest.requiresOptIn).toBe(false);
    expect((await loadExecuters([CATALOG_DIR])).get('sim-server')?.dir).toBe(DIR);
  });

  it('fills in 1280x720 at 30 fps and refuses parameters out of range or unknown', async () => {
    const { validateParams } = await loadSimServer();
    expect(validateParams({})).toEqual({ width: 1280, height: 720, fps: 30 });
    const fields = (params: unknown): string[] => {
      try {
        validateParams(params);
      } catch (err) {
        if (err instanceof ValidationError) return err.issues.map((i) => i.field);
      }
      return [];
    };
    expect(fields({ width: 8, height: 9000, fps: 1.5 }).sort()).toEqual([
      'params.fps',
      'params.height',
      'params.width',
    ]);
    expect(fields({ fps: 241, failAfterMs: -1, readyDelayMs: 'soon' }).sort()).toEqual([
      'params.failAfterMs',
      'params.fps',
      'params.readyDelayMs',
    ]);
    expect(fields({ resolution: '4k' })).toEqual(['params']);
  });

  it('its command, as buildArgv fills it in, serves on the allocated ports', async () => {
    const executer = await loadSimServer();
    const ports = await freePorts();
    const ctx = { executerDir: DIR, taskDir: '/t', inputDir: '/t/in', outputDir: '/t/out', taskId: 'x' };
    const params = executer.validateParams({ width: 800, height: 600 });
    const argv = buildArgv(executer.manifest, { ...ctx, gpuIds: [2], attempt: 1, ports }, params);
    expect(argv.file).toBe('node');
    expect(argv.args).toEqual([
      SCRIPT,
      `--control-port=${ports.control}`,
      `--http-port=${ports.http}`,
      '--width=800',
      '--height=600',
      '--fps=30',
    ]);
    const sim = startSim(argv.args);
    expect(await sim.listening).toEqual(ports);
    expect(await healthz(ports.http)).toEqual({ status: 200, body: { ok: true, width: 800, height: 600 } });
    const client = await dial(ports.control);
    expect(await client.next()).toBe(`HELLO sim-server 800x600 fps=30 pid=${sim.child.pid}`);
    client.socket.destroy();
  });
});

describe('sim-server process', () => {
  it('answers GET /healthz with its screen size, and 404 elsewhere', async () => {
    const sim = await startOnFreePorts('--width=1920', '--height', '1080');
    expect(await healthz(sim.ports.http)).toEqual({
      status: 200,
      body: { ok: true, width: 1920, height: 1080 },
    });
    expect((await healthz(sim.ports.http, '/healthz?probe=1')).status).toBe(200);
    expect((await healthz(sim.ports.http, '/')).status).toBe(404);
    expect((await healthz(sim.ports.http, '/healthzz')).status).toBe(404);
    const post = await fetch(`http://127.0.0.1:${sim.ports.http}/healthz`, { method: 'POST' });
    expect(post.status).toBe(404);
  });

  it('speaks the control protocol: HELLO, PING, STEP, errors, QUIT', async () => {
    const sim = await startOnFreePorts('--width=640', '--height=480', '--fps=60');
    const client = await dial(sim.ports.control);
    expect(await client.next()).toBe(`HELLO sim-server 640x480 fps=60 pid=${sim.child.pid}`);
    expect(await client.ask('PING')).toBe('PONG');
    expect(await client.ask('ping\r')).toBe('PONG');
    expect(await client.ask('STEP 7')).toBe('FRAME 7 640x480');
    expect(await client.ask('STEP 0')).toBe('FRAME 0 640x480');
    expect(await client.ask('STEP 123456789')).toBe('FRAME 123456789 640x480');
    for (const bad of ['STEP', 'STEP x', 'STEP -1', 'STEP 1.5', 'STEP 1 2', 'PING 3', 'JUMP', 'é\u0000💥']) {
      expect(await client.ask(bad), bad).toMatch(/^ERR \S/);
    }
    client.socket.write('\n   \n'); // empty lines: no answer
    expect(await client.ask('PING')).toBe('PONG');
    client.socket.write('STEP 1\nSTEP 2\nPI');
    client.socket.write('NG\n');
    expect([await client.next(), await client.next(), await client.next()]).toEqual([
      'FRAME 1 640x480',
      'FRAME 2 640x480',
      'PONG',
    ]);
    expect(await client.ask('QUIT')).toBe('BYE');
    expect(await client.next()).toBeNull();
  });

  it('survives client resets, floods and concurrent clients', async () => {
    const sim = await startOnFreePorts();
    const reset = await dial(sim.ports.control);
    reset.socket.write('STEP 1\nSTEP');
    reset.socket.resetAndDestroy();
    const flood = await dial(sim.ports.control);
    expect(await flood.next()).toMatch(/^HELLO /);
    flood.socket.write('x'.repeat(100_000));
    expect(await flood.next()).toMatch(/^ERR line longer than/);
    expect(await flood.next()).toBeNull();
    const clients = await Promise.all([1, 2, 3].map(() => dial(sim.ports.control)));
    for (const client of clients) expect(await client.next()).toMatch(/^HELLO sim-server 1280x720 fps=30 /);
    const frames = await Promise.all(clients.map((client, i) => client.ask(`STEP ${i}`)));
    expect(frames).toEqual(['FRAME 0 1280x720', 'FRAME 1 1280x720', 'FRAME 2 1280x720']);
    expect(sim.child.exitCode).toBeNull();
    expect((await healthz(sim.ports.http)).status).toBe(200);
    for (const client of clients) client.socket.destroy();
  });

  it('exits 0 on SIGTERM, closing a connected client', async () => {
    const sim = await startOnFreePorts();
    const client = await dial(sim.ports.control);
    expect(await client.next()).toMatch(/^HELLO /);
    sim.child.kill('SIGTERM');
    expect(await sim.exited).toEqual({ code: 0, signal: null });
    expect(await client.next()).toBeNull();
  });

  it('takes its ports from GPUFLEET_PORT_CONTROL and GPUFLEET_PORT_HTTP without flags', async () => {
    const ports = await freePorts();
    const sim = startSim([SCRIPT], {
      GPUFLEET_PORT_CONTROL: String(ports.control),
      GPUFLEET_PORT_HTTP: String(ports.http),
    });
    expect(await sim.listening).toEqual(ports);
    expect((await healthz(ports.http)).status).toBe(200);
  });

  it('exits with code 3 after failAfterMs, having served until then', async () => {
    const sim = await startOnFreePorts('--fail-after-ms=1500');
    const client = await dial(sim.ports.control);
    expect(await client.next()).toMatch(/^HELLO /);
    expect(await client.ask('PING')).toBe('PONG');
    expect(await sim.exited).toEqual({ code: 3, signal: null });
    expect(sim.stderr()).toContain('failing on purpose after 1500 ms');
    expect(await client.next()).toBeNull();
  });

  it('waits readyDelayMs before listening', async () => {
    const started = Date.now();
    await startOnFreePorts('--ready-delay-ms=800');
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
  });

  it('refuses bad arguments and missing ports with exit 2, saying why', async () => {
    for (const [args, reason] of [
      [['--width=8', '--control-port=1', '--http-port=2'], '--width must be an integer from 16 to 8192'],
      [['--http-port=2'], '--control-port or GPUFLEET_PORT_CONTROL is required'],
      [['--control-port=1', '--http-port'], '--http-port needs a value'],
      [['--control-port=1', '--http-port=2', '--size=4k'], 'unexpected argument "--size=4k"'],
    ] as const) {
      const sim = startSim([SCRIPT, ...args]);
      expect(await sim.exited).toEqual({ code: 2, signal: null });
      expect(sim.stderr()).toContain(reason);
      await expect(sim.listening).rejects.toThrow('before listening');
    }
  });
});
