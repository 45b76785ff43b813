// The ports a tracker gives its services (src/service/port-pool.ts), with real sockets: a port
// another program holds (on any address, IPv4 or IPv6) is skipped and logged once, a tiny range
// runs out with a reason that says what holds it, ports given back are given out again, a
// restarting service keeps its ports where they can still be bound, and concurrent allocations
// never share a port.
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino, type Logger } from 'pino';
import { PortPool, portProblem } from '../src/service/port-pool.js';
import type { PortRange } from '../src/service/service-config.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A server of "another program" holding the port on this address. */
async function hold(port: number, host = '0.0.0.0', ipv6Only = false): Promise<Server> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, ipv6Only }, resolve);
  });
  return server;
}

/** `size` consecutive ports below the ephemeral range that can all be bound now. */
async function freeRange(size: number): Promise<PortRange> {
  for (;;) {
    const low = 22_000 + Math.floor(Math.random() * 10_000);
    const ports = Array.from({ length: size }, (_, i) => low + i);
    const problems = await Promise.all(ports.map(portProblem));
    if (problems.every((p) => p === null)) return { low, high: low + size - 1 };
  }
}

function capturingLogger(): { logger: Logger; warnings: Array<{ port: number; msg: string }> } {
  const warnings: Array<{ port: number; msg: string }> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) });
  return { logger, warnings };
}

const hasIpv6 = await new Promise<boolean>((resolve) => {
  const server = createServer();
  server.once('error', () => resolve(false));
  server.listen({ port: 0, host: '::1' }, () => server.close(() => resolve(true)));
});

describe('PortPool', () => {
  it('gives each name its own port of the range, and the same ones when asked twice', async () => {
    const range = await freeRange(4);
    const pool = new PortPool(range, pino({ level: 'silent' }));
    const got = await pool.allocate('t1', ['http', 'control']);
    expect(got).toEqual({ ok: true, ports: { http: range.low, control: range.low + 1 }, moved: [] });
    expect(pool.held('t1')).toEqual({ http: range.low, control: range.low + 1 });
    expect(await pool.allocate('t1', ['http', 'control'])).toEqual(got);
    const other = await pool.allocate('t2', ['http']);
    expect(other).toEqual({ ok: true, ports: { http: range.low + 2 }, moved: [] });
  });

  it('skips a port another program holds, on 127.0.0.1 as on every address, and logs it once', async () => {
    const range = await freeRange(4);
    await hold(range.low, '127.0.0.1');
    await hold(range.low + 2);
    const { logger, warnings } = capturingLogger();
    const pool = new PortPool(range, logger);
    expect(await pool.allocate('t1', ['http', 'control'])).toMatchObject({
      ok: true,
      ports: { http: range.low + 1, control: range.low + 3 },
    });
    pool.release('t1');
    // Round the range again: the held ports are looked at again, and not logged again.
    await pool.allocate('t2', ['a', 'b']);
    expect(warnings.map((w) => w.port).sort()).toEqual([range.low, range.low + 2]);
    expect(warnings[0]?.msg).toMatch(/cannot be bound \(EADDRINUSE\): skipped/);
  });

  it.skipIf(!hasIpv6)('skips a port another program holds on IPv6 only', async () => {
    const range = await freeRange(2);
    await hold(range.low, '::', true);
    expect(await portProblem(range.low)).toBe('EADDRINUSE');
    const pool = new PortPool(range, pino({ level: 'silent' }));
    expect(await pool.allocate('t1', ['http'])).toMatchObject({ ok: true, ports: { http: range.low + 1 } });
  });

  it('says why when the range has run out, and gives a port back out once it is released', async () => {
    const range = await freeRange(3);
    await hold(range.low + 1);
    const pool = new PortPool(range, pino({ level: 'silent' }));
    expect(await pool.allocate('t1', ['http', 'control'])).toMatchObject({ ok: true });
    const refused = await pool.allocate('t2', ['http']);
    expect(refused).toEqual({
      ok: false,
      reason:
        `no free port in GPUFLEET_PORT_RANGE ${range.low}-${range.high} for 1 port: ` +
        '2 given to 1 other service, 1 held by other programs on the host',
    });
    expect(pool.held('t2')).toBeUndefined();
    pool.release('t1');
    expect(pool.held('t1')).toBeUndefined();
    const got = await pool.allocate('t2', ['http']);
    expect(got.ok).toBe(true);
    expect(got.ok && [range.low, range.high]).toContain(got.ok && got.ports['http']);
  });

  it('gives no port twice to allocations that run at once', async () => {
    const range = await freeRange(10);
    const pool = new PortPool(range, pino({ level: 'silent' }));
    const all = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((t) => pool.allocate(t, ['x', 'y'])));
    const ports = all.flatMap((g) => (g.ok ? Object.values(g.ports) : []));
    expect(new Set(ports).size).toBe(10);
    expect(await pool.allocate('f', ['x'])).toMatchObject({ ok: false });
  });

  it('keeps a restarting service on its ports, and moves only the one another program took', async () => {
    const range = await freeRange(4);
    const pool = new PortPool(range, pino({ level: 'silent' }));
    const first = await pool.allocate('svc', ['http', 'control']);
    if (!first.ok) throw new Error(first.reason);
    expect(await pool.reserveAgain('svc', ['http', 'control'])).toEqual({ ...first, moved: [] });
    // While it restarted, another program bound its control port.
    await hold(first.ports['control']!);
    const again = await pool.reserveAgain('svc', ['http', 'control']);
    expect(again).toMatchObject({ ok: true, moved: ['control'] });
    if (!again.ok) return;
    expect(again.ports['http']).toBe(first.ports['http']);
    expect(again.ports['control']).not.toBe(first.ports['control']);
    expect(pool.held('svc')).toEqual(again.ports);
  });

  it('gives a task that comes back the ports it gave back, where no one took them meanwhile', async () => {
    const range = await freeRange(4);
    const pool = new PortPool(range, pino({ level: 'silent' }));
    const first = await pool.allocate('svc', ['http']);
    pool.release('svc');
    await pool.allocate('other', ['x']); // round the range: the next free port, not the one given back
    expect(await pool.reserveAgain('svc', ['http'])).toEqual({ ...first, moved: [] });
    pool.forget('svc');
    const fresh = await pool.reserveAgain('svc', ['http']);
    expect(fresh.ok && fresh.ports['http']).not.toBe(first.ok && first.ports['http']);
  });

  it('keeps what a restarting service held when the range has no replacement', async () => {
    const range = await freeRange(2);
    const pool = new PortPool(range, pino({ level: 'silent' }));
    const first = await pool.allocate('svc', ['http']);
    await pool.allocate('other', ['x']);
    if (!first.ok) throw new Error(first.reason);
    await hold(first.ports['http']!);
    const again = await pool.reserveAgain('svc', ['http']);
    expect(again).toMatchObject({ ok: false, reason: expect.stringMatching(/no free port/) });
    expect(pool.held('svc')).toEqual(first.ports);
  });
});
