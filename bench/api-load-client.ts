/**
 * A lean HTTP/1.1 load generator for the API benchmark: `connections` keep-alive sockets, each
 * sending one request and waiting for its whole answer before the next (no pipelining), for a
 * fixed time after a warm-up. Requests are pre-encoded bytes and answers are only framed (status
 * line, Content-Length, body), so the generator costs far less CPU than node:http's client and
 * leaves the machine's cores to the server and Redis. Answers must carry Content-Length.
 * Used by bench/api-throughput.ts (see there for how to run it).
 */
import { connect, type Socket } from 'node:net';

export interface LoadOptions {
  host: string;
  port: number;
  connections: number;
  warmupMs: number;
  durationMs: number;
  /** The bytes of request number `i` (a complete HTTP/1.1 request). */
  next(i: number): Buffer;
  /** Called when the measured period starts and ends (after the warm-up). */
  onMeasure?(phase: 'start' | 'end'): void;
}

export interface LoadResult {
  requests: number;
  /** Answers outside 2xx, and requests that failed. */
  errors: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  maxMs: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** One keep-alive connection: `send` resolves with the status once the whole answer arrived. */
class Connection {
  #buffer: Buffer = Buffer.alloc(0);
  #pending: { resolve: (status: number) => void; reject: (error: Error) => void } | null = null;
  #status = 0;
  #bodyLeft = -1;
  readonly #socket: Socket;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new Error('connection closed')));
  }

  static open(host: string, port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port }, () => resolve(new Connection(socket)));
      socket.once('error', reject);
    });
  }

  send(request: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#socket.write(request);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #fail(error: Error): void {
    const pending = this.#pending;
    this.#pending = null;
    pending?.reject(error);
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      if (this.#bodyLeft < 0) {
        const end = this.#buffer.indexOf(HEADER_END);
        if (end < 0) return;
        const head = this.#buffer.subarray(0, end).toString('latin1');
        this.#status = Number(head.slice(9, 12));
        const length = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (!length)
          return this.#fail(new Error(`an answer without Content-Length: ${head.split('\r\n')[0]}`));
        this.#bodyLeft = Number(length[1]);
        this.#buffer = this.#buffer.subarray(end + 4);
      }
      if (this.#buffer.length < this.#bodyLeft) return;
      this.#buffer = this.#buffer.subarray(this.#bodyLeft);
      this.#bodyLeft = -1;
      const pending = this.#pending;
      this.#pending = null;
      pending?.resolve(this.#status);
      if (this.#buffer.length === 0) return;
    }
  }
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const connections = await Promise.all(
    Array.from({ length: options.connections }, () => Connection.open(options.host, options.port)),
  );
  let i = 0;
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  const loop = async (connection: Connection, until: number, record: boolean): Promise<void> => {
    while (performance.now() < until) {
      const started = performance.now();
      const status = await connection.send(options.next(i++)).catch(() => 0);
      if (!record) continue;
      latencies.push(performance.now() - started);
      if (status >= 200 && status < 300) ok++;
      else errors++;
    }
  };
  const warmupEnd = performance.now() + options.warmupMs;
  await Promise.all(connections.map((c) => loop(c, warmupEnd, false)));
  options.onMeasure?.('start');
  const started = performance.now();
  await Promise.all(connections.map((c) => loop(c, started + options.durationMs, true)));
  const seconds = (performance.now() - started) / 1000;
  options.onMeasure?.('end');
  connections.forEach((c) => c.close());
  latencies.sort((a, b) => a - b);
  const round = (ms: number): number => Number(ms.toFixed(2));
  return {
    requests: latencies.length,
    errors,
    rps: Math.round(ok / seconds),
    p50ms: round(quantile(latencies, 0.5)),
    p99ms: round(quantile(latencies, 0.99)),
    maxMs: round(latencies.at(-1) ?? NaN),
  };
}

/** The bytes of one HTTP/1.1 request. */
export function encodeRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, 'host: 127.0.0.1', 'connection: keep-alive'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body) lines.push(`content-length: ${body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return body ? Buffer.concat([head, body]) : head;
}
