/**
 * Server-Sent Events over a Fastify reply: the reply streams a PassThrough, so Fastify's request
 * log, metrics and error handling still apply. Data is JSON on one line (JSON escapes CR and LF,
 * which SSE would otherwise read as line ends). A comment every `heartbeatMs` keeps proxies from
 * closing an idle stream; `signal` aborts when the client goes away. A client that reads slower
 * than events come is cut off (`event: error`, code CLIENT_TOO_SLOW) once `maxBufferedBytes` wait for
 * it, rather than buffering without bound; a log follower resumes with Last-Event-ID. A sender
 * that has much to send at once (an archived task's log files) waits for `drained()` between
 * events instead, so a slow client slows the sender down rather than being cut off.
 */
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';

export interface SseStream {
  send(event: string, data: unknown, id?: string): void;
  end(): void;
  /** Resolves once what was sent has gone out to the client (or the stream closed). */
  drained(): Promise<void>;
  /** Aborts when the client disconnects (or the stream ends). */
  readonly signal: AbortSignal;
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
};

export function startSse(
  reply: FastifyReply,
  heartbeatMs = 15_000,
  maxBufferedBytes = 16 * 1024 * 1024,
): SseStream {
  const body = new PassThrough();
  const controller = new AbortController();
  const heartbeat = setInterval(() => body.write(': keep-alive\n\n'), heartbeatMs);
  heartbeat.unref();
  const close = (): void => {
    clearInterval(heartbeat);
    if (!controller.signal.aborted) controller.abort();
  };
  reply.raw.once('close', close);
  body.once('close', close);
  void reply.headers(SSE_HEADERS).send(body);
  body.write(': stream open\n\n');
  return {
    signal: controller.signal,
    send(event, data, id) {
      if (body.writableEnded) return;
      const idLine = id === undefined ? '' : `id: ${id}\n`;
      body.write(`${idLine}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      if (body.writableLength > maxBufferedBytes) {
        const error = { code: 'CLIENT_TOO_SLOW', message: 'the client reads slower than events come' };
        body.end(`event: error\ndata: ${JSON.stringify(error)}\n\n`);
        close();
      }
    },
    drained() {
      if (!body.writableNeedDrain || body.destroyed) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = (): void => {
          body.off('drain', done).off('close', done);
          resolve();
        };
        body.once('drain', done).once('close', done);
      });
    },
    end() {
      clearInterval(heartbeat);
      if (!body.writableEnded) body.end();
    },
  };
}
