/**
 * Waits for a service to become ready by its manifest's check (core service-manifest.ts): a TCP
 * connection to its port accepted, `GET http://127.0.0.1:<port><path>` answering 2xx (a 500 is
 * not ready), or a line of its stdout matching the pattern. TCP and HTTP are retried with a short
 * backoff until one succeeds; the wait ends in failure at the start timeout, or when the caller's
 * AbortSignal aborts (the process exited, the task was cancelled), with a reason that says what
 * the last try found. Nothing is left behind either way: no timer, socket or listener.
 *
 * Stdout comes through a small interface, not the stream: the tracker already reads the process's
 * output (to the task's log), so it hands over the lines it reads as `line` events, which several
 * readers can listen to and any can stop listening to (an async iterator could have only one
 * reader, and ending it early would end the stream). Only lines emitted after the wait begins are
 * seen: start waiting before the process can print. A `close` event ends the wait: no line will
 * match any more.
 *
 * @example
 * await waitForReadiness({
 *   check: manifest.service.ready, ports: { http: 20001 }, stdout: lines,
 *   timeoutMs: manifest.service.startTimeoutMs, signal: exited.signal,
 * });
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { GpufleetError, readyPort, type ServiceReadyCheck } from '@gpufleet/core';
import type { ServicePorts } from './port-pool.js';

/** Lines of the service's stdout, as `line` events (an EventEmitter or a readline Interface). */
export interface LineSource {
  on(event: 'line' | 'close', listener: (line?: string) => void): unknown;
  off(event: 'line' | 'close', listener: (line?: string) => void): unknown;
}

export interface ReadinessOptions {
  check: ServiceReadyCheck;
  /** The service's ports by name, as allocated. */
  ports: ServicePorts;
  /** Needed for a stdout check. */
  stdout?: LineSource;
  /** The start timeout: how long it may take to become ready. */
  timeoutMs: number;
  /** Ends the wait at once (the process exited, the task was cancelled). */
  signal?: AbortSignal;
  /** Where TCP and HTTP checks connect; default 127.0.0.1. */
  host?: string;
}

/** Why the wait ended without the service ready. */
export type NotReadyWhy = 'timeout' | 'aborted' | 'stdout-closed' | 'misconfigured';

/** The service did not become ready: `why`, and a message saying what the last try found. */
export class ServiceNotReadyError extends GpufleetError {
  constructor(
    readonly why: NotReadyWhy,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('SERVICE_NOT_READY', message, options);
  }
}

/** The first retry waits this long, doubling up to RETRY_MAX_MS. */
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 500;
/** One HTTP try gives up after this long without an answer (the next try may get one). */
const HTTP_TRY_MS = 5_000;

/** One try: null when ready, else what it found. Rejects only when `signal` aborts. */
type Attempt = (signal: AbortSignal) => Promise<string | null>;

function tcpAttempt(host: string, port: number): Attempt {
  return (signal) =>
    new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const done = (): void => {
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
      };
      const onAbort = (): void => {
        done();
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => {
        done();
        resolve(null);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        done();
        resolve(`TCP connect to ${host}:${port} failed: ${err.code ?? err.message}`);
      });
    });
}

function httpAttempt(host: string, port: number, path: string): Attempt {
  const url = `http://${host}:${port}${path}`;
  return (signal) =>
    new Promise((resolve, reject) => {
      const req = request(url, { method: 'GET', agent: false, timeout: HTTP_TRY_MS });
      const done = (): void => {
        signal.removeEventListener('abort', onAbort);
        req.destroy();
      };
      const onAbort = (): void => {
        done();
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      req.once('response', (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        done();
        resolve(status >= 200 && status < 300 ? null : `GET ${url} answered ${status}`);
      });
      req.once('timeout', () => {
        done();
        resolve(`GET ${url} got no answer within ${HTTP_TRY_MS} ms`);
      });
      req.once('error', (err: NodeJS.ErrnoException) => {
        done();
        resolve(`GET ${url} failed: ${err.code ?? err.message}`);
      });
      req.end();
    });
}

/** Tries until one succeeds; `last.found` keeps what the latest try found, for the failure's reason. */
async function poll(attempt: Attempt, signal: AbortSignal, last: { found: string }): Promise<void> {
  for (let wait = RETRY_MIN_MS; ; wait = Math.min(wait * 2, RETRY_MAX_MS)) {
    const found = await attempt(signal);
    if (found === null) return;
    last.found = found;
    await delay(wait, undefined, { signal });
  }
}

function stdoutMatch(
  source: LineSource,
  pattern: RegExp,
  signal: AbortSignal,
  closed: () => Error,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const stop = (): void => {
      source.off('line', onLine);
      source.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
    };
    const onLine = (line?: string): void => {
      if (line === undefined || !pattern.test(line)) return;
      stop();
      resolve();
    };
    const onClose = (): void => {
      stop();
      reject(closed());
    };
    const onAbort = (): void => {
      stop();
      reject(signal.reason as Error);
    };
    source.on('line', onLine);
    source.on('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

/** What a check waits for, in words, for the failure's reason. */
function describeCheck(check: ServiceReadyCheck, ports: ServicePorts, host: string): string {
  if ('stdout' in check) return `a line of stdout matching /${check.stdout}/`;
  const name = readyPort(check) ?? '';
  const target = `${host}:${ports[name]} (port ${name})`;
  return 'tcp' in check
    ? `a TCP connection to ${target}`
    : `GET ${check.http.path} on ${target} answering 2xx`;
}

/** The wait a check stands for, or why it cannot be made. */
function readinessWait(
  check: ServiceReadyCheck,
  ports: ServicePorts,
  host: string,
  stdout: LineSource | undefined,
  what: string,
  last: { found: string },
): (signal: AbortSignal) => Promise<void> {
  if ('stdout' in check) {
    if (stdout === undefined)
      throw new ServiceNotReadyError('misconfigured', 'a stdout readiness check needs the lines of stdout');
    const pattern = new RegExp(check.stdout);
    const closed = (): Error => new ServiceNotReadyError('stdout-closed', `stdout ended without ${what}`);
    return (signal) => stdoutMatch(stdout, pattern, signal, closed);
  }
  const name = 'tcp' in check ? check.tcp : check.http.port;
  const port = ports[name];
  if (port === undefined)
    throw new ServiceNotReadyError(
      'misconfigured',
      `no port was allocated for "${name}", which readiness names`,
    );
  const attempt = 'tcp' in check ? tcpAttempt(host, port) : httpAttempt(host, port, check.http.path);
  return (signal) => poll(attempt, signal, last);
}

/**
 * Resolves once the service is ready; rejects with ServiceNotReadyError at the timeout, when the
 * signal aborts, when stdout closes before a line matched, or when the check cannot be made (a
 * port it names was not allocated, a stdout check without lines).
 */
export async function waitForReadiness(options: ReadinessOptions): Promise<void> {
  const { check, ports, timeoutMs, signal } = options;
  const host = options.host ?? '127.0.0.1';
  const what = describeCheck(check, ports, host);
  const started = Date.now();
  const last = { found: '' };
  const lastFound = (): string => (last.found === '' ? '' : `; the last try: ${last.found}`);
  if (signal?.aborted) {
    throw new ServiceNotReadyError('aborted', `stopped waiting for ${what}: ${reasonText(signal.reason)}`);
  }
  const wait = readinessWait(check, ports, host, options.stdout, what, last);
  const stop = new AbortController();
  const timer = setTimeout(() => {
    const message = `not ready within its start timeout of ${timeoutMs} ms: waited for ${what}${lastFound()}`;
    stop.abort(new ServiceNotReadyError('timeout', message));
  }, timeoutMs);
  const onAbort = (): void => {
    const message = `stopped waiting for ${what} after ${Date.now() - started} ms: ${reasonText(signal?.reason)}${lastFound()}`;
    stop.abort(new ServiceNotReadyError('aborted', message, { cause: signal?.reason }));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await wait(stop.signal);
  } catch (err) {
    // An abort during the backoff's delay rejects with the signal's reason: ours, as above.
    throw stop.signal.aborted && !(err instanceof ServiceNotReadyError) ? stop.signal.reason : err;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    stop.abort();
  }
}
