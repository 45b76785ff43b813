/**
 * The host ports a tracker gives its services, from GPUFLEET_PORT_RANGE. A port is free when this
 * tracker has not given it out and it can be bound on the host right now: bound on 0.0.0.0 and on
 * :: (where the host has IPv6), then closed at once. A port another program holds is skipped, and
 * logged once until it is seen free again. Candidates are tried in turn round the range from where
 * the last search stopped, so a port just given back is not the next one given out (a controller
 * still holding the old endpoint does not reach a new service by mistake).
 *
 * A service keeps its ports while it restarts: `reserveAgain` checks that each one can still be
 * bound (the old process and its children are gone, no other program took it meanwhile) and
 * replaces only those that cannot. The ports of a task given back are remembered for a while, so
 * a task that comes back to this tracker gets them again where they are still free. When the
 * range runs out the answer says so, with what holds the range; the caller makes the task wait.
 *
 * @example
 * const pool = new PortPool({ low: 20000, high: 20999 }, logger);
 * const got = await pool.allocate(taskId, ['http', 'control']);
 * if (!got.ok) return waitWith(got.reason);
 * // got.ports: { http: 20000, control: 20001 }
 * pool.release(taskId);
 */
import { createServer } from 'node:net';
import type { Logger } from '@gpufleet/core';
import type { PortRange } from './service-config.js';

/** Ports by name, as `{port.NAME}` in a service's command is filled. */
export type ServicePorts = Readonly<Record<string, number>>;

export type PortAllocation =
  | {
      ok: true;
      ports: ServicePorts;
      /** The names whose port changed from the ones held (or last held) by the task: empty on a first allocation. */
      moved: string[];
    }
  | { ok: false; reason: string };

/** How many given-back tasks' ports are remembered for `reserveAgain`. */
const REMEMBERED = 1024;

/** Errors from binding `::` that mean the host has no IPv6, not that the port is taken. */
const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT']);

/** Null when the port can be bound on `host` now; else the error code. */
function bindProblem(port: number, host: string, ipv6Only: boolean): Promise<string | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      server.close();
      resolve(err.code ?? err.message);
    });
    server.listen({ port, host, ipv6Only, exclusive: true }, () => {
      server.close(() => resolve(null));
    });
  });
}

/**
 * Whether the port can be bound on the host right now, on every address: null when it can, else
 * why not (EADDRINUSE: another program holds it).
 */
export async function portProblem(port: number): Promise<string | null> {
  const v4 = await bindProblem(port, '0.0.0.0', false);
  if (v4 !== null) return v4;
  const v6 = await bindProblem(port, '::', true);
  return v6 === null || NO_IPV6.has(v6) ? null : v6;
}

export class PortPool {
  /** Ports given out, or being checked for a task, with the task holding them. */
  readonly #taken = new Map<number, string>();
  readonly #held = new Map<string, Record<string, number>>();
  /** Given back tasks' last ports, oldest first, for reserveAgain. */
  readonly #remembered = new Map<string, Record<string, number>>();
  /** Ports seen held by other programs and logged, until seen free again. */
  readonly #logged = new Set<number>();
  #next: number;
  /** Woken when a task gives its ports back (`nextRelease`). */
  #waiters: Array<() => void> = [];

  constructor(
    readonly range: PortRange,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {
    this.#next = range.low;
  }

  /** How many ports the range holds. */
  get size(): number {
    return this.range.high - this.range.low + 1;
  }

  /** The ports the task holds now, by name; undefined when it holds none. */
  held(taskId: string): ServicePorts | undefined {
    const ports = this.#held.get(taskId);
    return ports && { ...ports };
  }

  /**
   * Gives the task one free port per name. A task that holds ports already gets them back as
   * they are (allocating twice never leaks); reserveAgain is what checks them again.
   */
  async allocate(taskId: string, names: readonly string[]): Promise<PortAllocation> {
    const held = this.#held.get(taskId);
    if (held) return { ok: true, ports: { ...held }, moved: [] };
    return this.#assign(taskId, names, {});
  }

  /**
   * For a restart: the ports the task holds (or held last, when it gave them back) where they
   * can still be bound, a fresh port for each name whose old one cannot. On failure the task
   * keeps what it held, unchanged.
   */
  async reserveAgain(taskId: string, names: readonly string[]): Promise<PortAllocation> {
    const held = this.#held.get(taskId);
    const previous = held ?? this.#remembered.get(taskId) ?? {};
    return this.#assign(taskId, names, previous);
  }

  /**
   * Resolves when a task next gives its ports back, or at once when `signal` aborts: a task that
   * found the range full tries again then.
   */
  nextRelease(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const wake = (): void => {
        signal?.removeEventListener('abort', wake);
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        resolve();
      };
      this.#waiters.push(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  /** Gives back the task's ports; they are remembered for its reserveAgain. */
  release(taskId: string): void {
    const ports = this.#held.get(taskId);
    if (!ports) return;
    for (const wake of this.#waiters.splice(0)) wake();
    this.#held.delete(taskId);
    for (const port of Object.values(ports)) if (this.#taken.get(port) === taskId) this.#taken.delete(port);
    this.#remembered.delete(taskId);
    this.#remembered.set(taskId, ports);
    const oldest = this.#remembered.keys().next();
    if (this.#remembered.size > REMEMBERED && !oldest.done) this.#remembered.delete(oldest.value);
  }

  /** Gives back the task's ports and forgets them: it will not come back. */
  forget(taskId: string): void {
    this.release(taskId);
    this.#remembered.delete(taskId);
  }

  async #assign(
    taskId: string,
    names: readonly string[],
    previous: Readonly<Record<string, number>>,
  ): Promise<PortAllocation> {
    const claimed: number[] = []; // ports this call took into #taken, given back on failure
    const claim = (port: number): void => {
      this.#taken.set(port, taskId);
      claimed.push(port);
    };
    const ports: Record<string, number> = {};
    const moved: string[] = [];
    const otherPrograms = new Set<number>();
    const wanted = [...new Set(names)];
    for (const name of wanted) {
      const old = previous[name];
      if (old !== undefined && this.#inRange(old) && (this.#taken.get(old) ?? taskId) === taskId) {
        const mine = this.#taken.get(old) === taskId;
        if (!mine) claim(old);
        if (await this.#bindable(old)) {
          ports[name] = old;
          continue;
        }
        if (!mine) this.#unclaim(old, claimed);
        otherPrograms.add(old);
      }
      const port = await this.#search(claim, otherPrograms, new Set(Object.values(previous)));
      if (port === null) {
        for (const p of claimed) this.#taken.delete(p);
        return { ok: false, reason: this.#exhausted(taskId, wanted.length, otherPrograms) };
      }
      ports[name] = port;
      if (Object.keys(previous).length > 0) moved.push(name);
    }
    // The old ports that were not kept go back (the new ones are held now).
    for (const port of Object.values(previous)) {
      if (this.#taken.get(port) === taskId && !Object.values(ports).includes(port)) this.#taken.delete(port);
    }
    this.#held.set(taskId, ports);
    this.#remembered.delete(taskId);
    return { ok: true, ports: { ...ports }, moved };
  }

  #inRange(port: number): boolean {
    return Number.isInteger(port) && port >= this.range.low && port <= this.range.high;
  }

  #unclaim(port: number, claimed: number[]): void {
    this.#taken.delete(port);
    claimed.splice(claimed.indexOf(port), 1);
  }

  /**
   * The next port round the range that no task holds and that can be bound, claimed for the task;
   * null when none is. `avoid`: the task's old ports, already looked at.
   */
  async #search(
    claim: (port: number) => void,
    otherPrograms: Set<number>,
    avoid: ReadonlySet<number>,
  ): Promise<number | null> {
    for (let tried = 0; tried < this.size; tried++) {
      const port = this.#next;
      this.#next = port >= this.range.high ? this.range.low : port + 1;
      if (this.#taken.has(port) || avoid.has(port) || otherPrograms.has(port)) continue;
      claim(port); // before the await: a concurrent search must not pick it too
      if (await this.#bindable(port)) return port;
      this.#taken.delete(port);
      otherPrograms.add(port);
    }
    return null;
  }

  async #bindable(port: number): Promise<boolean> {
    const problem = await portProblem(port);
    if (problem === null) {
      this.#logged.delete(port);
      return true;
    }
    if (!this.#logged.has(port)) {
      this.#logged.add(port);
      this.logger.warn({ port, code: problem }, `port ${port} cannot be bound (${problem}): skipped`);
    }
    return false;
  }

  #exhausted(taskId: string, needed: number, otherPrograms: ReadonlySet<number>): string {
    const { low, high } = this.range;
    const others = [...this.#taken.values()].filter((t) => t !== taskId);
    const tasks = new Set(others).size;
    const given = others.length;
    const held = [...otherPrograms].filter((p) => !this.#taken.has(p)).length;
    const programs = held > 0 ? `, ${held} held by other programs on the host` : '';
    return (
      `no free port in GPUFLEET_PORT_RANGE ${low}-${high} for ${needed} port${needed === 1 ? '' : 's'}: ` +
      `${given} given to ${tasks} other service${tasks === 1 ? '' : 's'}${programs}`
    );
  }
}
