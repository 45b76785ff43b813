/**
 * Small TCP probes for tests: whether something accepts a connection on a local port now
 * (`portAnswers`), sending one line and reading the answer (`askLine`, for line servers such as the
 * tracker's service fixtures), and the parts of a `host:port` endpoint (`endpointHost`,
 * `endpointPort`).
 */
import { once } from 'node:events';
import { connect } from 'node:net';

/** Whether something on this host (127.0.0.1) accepts a TCP connection on the port now. */
export function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Connects to `host:port`, sends `line` and a newline, and returns the first data answered, trimmed.
 * Rejects with the connection's error (ECONNREFUSED when nothing listens).
 */
export async function askLine(host: string, port: number, line: string): Promise<string> {
  const socket = connect({ host, port });
  await once(socket, 'connect');
  socket.write(`${line}\n`);
  const [data] = (await once(socket, 'data')) as [Buffer];
  socket.destroy();
  return data.toString().trim();
}

/** The port of a `host:port` endpoint; NaN when there is none (or no endpoint). */
export function endpointPort(endpoint: string | undefined): number {
  return Number(/:(\d+)$/.exec(endpoint ?? '')?.[1]);
}

/** The host of a `host:port` endpoint; '' when it has no port (or there is no endpoint). */
export function endpointHost(endpoint: string | undefined): string {
  return /^(.+):\d+$/.exec(endpoint ?? '')?.[1] ?? '';
}
