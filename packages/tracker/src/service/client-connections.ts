/**
 * Whether anyone is using a service: how many client connections its ports have right now, and
 * an idle watcher that calls back once after `idleTimeoutMs` with none (the manifest's
 * `service.idleTimeoutMs`: a simulation build nobody is connected to any more is ended).
 *
 * Linux only: the count is read from /proc/net/tcp and /proc/net/tcp6, the kernel's table of TCP
 * sockets, as connections in state 01 (ESTABLISHED) whose local port is one of the service's. The
 * client's end of a connection from this host has the service's port as its remote port, so each
 * connection counts once. The table is that of the tracker's network namespace, which is the
 * service's (the tracker starts it). Elsewhere (macOS, Windows) the count is null, and there is no
 * idle watcher: a service there is never ended for being idle.
 *
 * The watcher polls (every second by default): a connection opened and closed between two polls
 * is not seen, which idle timeouts of minutes do not mind. A poll that cannot read the table
 * counts as a connection, so a service is never ended for want of a reading.
 *
 * @example
 * const watch = watchIdle({ ports: [20001, 20002], idleTimeoutMs: 600_000, onIdle: () => stop('idle') });
 * // ...
 * watch?.close();
 */
import { readFile } from 'node:fs/promises';

/** The kernel's TCP state for an established connection, as /proc/net/tcp writes it. */
const ESTABLISHED = '01';
const TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];
/** How often the idle watcher looks when not told. */
export const DEFAULT_IDLE_POLL_MS = 1000;

export interface ConnectionCountOptions {
  /** Default process.platform; anything but linux has no count. */
  platform?: NodeJS.Platform;
}

/** The established connections by local port, from one /proc/net/tcp-style table's text. */
export function establishedByLocalPort(table: string, into = new Map<number, number>()): Map<number, number> {
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    if (local === undefined || fields[3] !== ESTABLISHED) continue;
    const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    if (Number.isInteger(port)) into.set(port, (into.get(port) ?? 0) + 1);
  }
  return into;
}

/** The table's text; '' when it is not there (a host without IPv6 has no tcp6); throws when unreadable. */
async function readTable(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/**
 * How many established client connections the ports have now; null where that cannot be told
 * (not Linux, or /proc/net/tcp cannot be read).
 */
export async function countClientConnections(
  ports: Iterable<number>,
  options: ConnectionCountOptions = {},
): Promise<number | null> {
  if ((options.platform ?? process.platform) !== 'linux') return null;
  let tables: string[];
  try {
    tables = await Promise.all(TABLES.map(readTable));
  } catch {
    return null;
  }
  if (tables[0] === '') return null; // no /proc/net/tcp: /proc not mounted
  const byPort = new Map<number, number>();
  for (const table of tables) establishedByLocalPort(table, byPort);
  let count = 0;
  for (const port of new Set(ports)) count += byPort.get(port) ?? 0;
  return count;
}

export interface IdleWatchOptions extends ConnectionCountOptions {
  /** The service's ports. */
  ports: readonly number[];
  /** Called once after this long with no client connection, counted from the start. */
  idleTimeoutMs: number;
  onIdle: () => void;
  /** How often to look; default DEFAULT_IDLE_POLL_MS. */
  pollMs?: number;
  /** After each look, with the count it found (null: could not be read). */
  onPoll?: (connections: number | null) => void;
}

export interface IdleWatch {
  /** Stops watching; safe to call twice, and after onIdle. */
  close(): void;
}

/**
 * Starts watching the ports; null where connections cannot be counted (not Linux). The idle
 * time runs from the start (a service nobody ever connects to is idle too) and starts again at
 * each look that finds a connection.
 */
export function watchIdle(options: IdleWatchOptions): IdleWatch | null {
  if ((options.platform ?? process.platform) !== 'linux') return null;
  const { ports, idleTimeoutMs, onIdle, onPoll } = options;
  const pollMs = options.pollMs ?? DEFAULT_IDLE_POLL_MS;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let activeAt = Date.now();

  const schedule = (): void => {
    const untilIdle = activeAt + idleTimeoutMs - Date.now();
    timer = setTimeout(look, Math.max(1, Math.min(pollMs, untilIdle)));
  };
  const look = (): void => {
    void countClientConnections(ports, options).then((connections) => {
      if (closed) return;
      const now = Date.now();
      if (connections === null || connections > 0) activeAt = now;
      onPoll?.(connections);
      if (closed) return; // onPoll closed it
      if (now - activeAt >= idleTimeoutMs) {
        closed = true;
        onIdle();
        return;
      }
      schedule();
    });
  };

  schedule();
  return {
    close(): void {
      closed = true;
      clearTimeout(timer);
    },
  };
}
