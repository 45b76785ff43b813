/**
 * Sends bytes of a local file as a reply's body with no stream in between: the download path of
 * the folder artifact store (see docs/benchmarks.md, "Web API"). Positional reads fill a few
 * buffers of CHUNK_BYTES, each reused once the socket has taken its bytes, and the next reads run
 * while earlier buffers are being written, so the disk and the socket work at the same time.
 * Through the store's Readable every chunk was a new buffer, and in most runs collecting them
 * took half of the server's CPU (2 s per GiB sent, against 0.5 s now).
 *
 * The reply is hijacked: its status and headers (all set by the caller, Content-Length included)
 * are written here, and Fastify's onResponse hooks (the request log, the metrics) still run when
 * the response finishes. A HEAD request gets the headers only. A read error or a file shorter
 * than Content-Length found by the first read is thrown, for an error answer; found later, once
 * the headers are out, it closes the connection after the bytes already written, so the client
 * sees a short body rather than a wrong one. When the client goes away, reading stops. The file
 * is closed in every case, by destroying the store's stream.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { finished, type Readable } from 'node:stream';
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import { InfraError, type FileSource } from '@gpufleet/core';

/** Bytes per read and per socket write: 2 and 4 MiB cost the server no less CPU per GiB. */
export const CHUNK_BYTES = 1024 * 1024;
/** Buffers per download: at most BUFFERS × CHUNK_BYTES of a download are in memory. */
export const BUFFERS = 4;

/** Reads `length` bytes at `position` into `buffer`, however many reads that takes; fewer at EOF. */
async function readFully(source: FileSource, buffer: Buffer, length: number, position: number) {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await source.handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

interface Read {
  buffer: Buffer;
  length: number;
  /** Bytes read, once the read is done; null while it runs. */
  got: number | null;
}

class FileBody {
  readonly #res: ServerResponse;
  readonly #log: FastifyBaseLogger;
  readonly #source: FileSource;
  readonly #stream: Readable;
  readonly #free: Buffer[];
  /** Reads started and not yet written, in file order. */
  readonly #reads: Read[] = [];
  #position: number;
  #unread: number;
  #unsent: number;
  #stopped = false;
  /** The headers are written: reads are written as they come in. */
  #sending = false;
  /** What went wrong before the headers were written. */
  #failure: Error | null = null;
  #firstIn: (() => void) | null = null;

  constructor(reply: FastifyReply, stream: Readable, source: FileSource, length: number) {
    this.#res = reply.raw;
    this.#log = reply.log;
    this.#stream = stream;
    this.#source = source;
    this.#position = source.start;
    this.#unread = length;
    this.#unsent = length;
    const size = Math.min(CHUNK_BYTES, length);
    const count = Math.min(BUFFERS, Math.ceil(length / CHUNK_BYTES));
    this.#free = Array.from({ length: count }, () => Buffer.allocUnsafeSlow(size));
  }

  /**
   * Starts reading. Resolves once the first bytes are in; rejects, the file closed, when that
   * read failed (InfraError ARTIFACT_READ_FAILED) or the file is shorter (ARTIFACT_CORRUPT), so
   * that the client still gets an error answer.
   */
  async begin(): Promise<void> {
    const first = new Promise<void>((resolve) => (this.#firstIn = resolve));
    this.#fill();
    this.#flush();
    await first;
    if (this.#failure) throw this.#failure;
  }

  /** Goes on after the headers were written: sends the bytes, then ends the response. */
  send(): void {
    this.#sending = true;
    // finished() also calls back for a response whose client is already gone.
    finished(this.#res, (error) => {
      if (error && !this.#stopped)
        this.#log.info('the client closed the connection before the download ended');
      this.#stop();
    });
    if (!this.#failure) this.#flush();
    else this.#cut(this.#failure);
  }

  /** Starts reads into the free buffers. */
  #fill(): void {
    while (!this.#stopped && this.#unread > 0) {
      const buffer = this.#free.pop();
      if (buffer === undefined) return;
      const read: Read = { buffer, length: Math.min(buffer.length, this.#unread), got: null };
      this.#reads.push(read);
      readFully(this.#source, buffer, read.length, this.#position).then(
        (got) => {
          read.got = got;
          this.#flush();
        },
        (error: unknown) =>
          this.#fail(
            new InfraError('ARTIFACT_READ_FAILED', `could not read the file: ${String(error)}`, error),
          ),
      );
      this.#position += read.length;
      this.#unread -= read.length;
    }
  }

  /**
   * Writes the reads that are done, in file order (before the headers are out, only says whether
   * the first is in); each buffer is free again once the socket has taken its bytes.
   */
  #flush(): void {
    for (let read = this.#reads[0]; !this.#stopped && read?.got != null; read = this.#reads[0]) {
      if (read.got < read.length) {
        const missing = this.#unsent - read.got;
        this.#fail(
          new InfraError('ARTIFACT_CORRUPT', `the file is ${missing} bytes shorter than its manifest says`),
        );
        return;
      }
      if (!this.#sending) break;
      this.#reads.shift();
      this.#unsent -= read.length;
      const { buffer } = read;
      this.#res.write(buffer.subarray(0, read.length), (error) => {
        if (error) return; // the response is gone: 'close' stops the download
        this.#free.push(buffer);
        this.#fill();
      });
    }
    if (!this.#sending) {
      if (this.#failure || this.#unsent === 0 || this.#reads[0]?.got != null) this.#firstIn?.();
    } else if (this.#unsent === 0 && !this.#stopped) {
      this.#res.end();
      this.#stop();
    }
  }

  #fail(error: Error): void {
    if (this.#stopped && this.#failure) return;
    if (!this.#sending) {
      this.#failure = error;
      this.#stop();
      this.#firstIn?.();
      return;
    }
    if (this.#stopped) return;
    this.#stop();
    this.#cut(error);
  }

  /** Closes the connection once what was written has gone out: the client sees a short body. */
  #cut(error: Error): void {
    this.#log.warn({ err: error }, 'the download failed after its headers were sent');
    const socket = this.#res.socket;
    if (socket) socket.end(() => socket.destroy());
    else this.#res.destroy();
  }

  /** No more reads; closes the file (after reads still running). */
  #stop(): void {
    this.#stopped = true;
    this.#stream.destroy();
  }
}

/**
 * Sends `length` bytes of `source` from `source.start` as the body, with the reply's status and
 * headers, hijacking the reply. `stream` is the store's stream of the file: it is never read, only
 * destroyed at the end, which closes the file. Throws, before anything is sent, if the first read
 * fails or finds the file short.
 */
export async function sendFileSource(
  reply: FastifyReply,
  stream: Readable,
  source: FileSource,
  length: number,
): Promise<void> {
  const head = reply.request.method === 'HEAD';
  const body = head ? null : new FileBody(reply, stream, source, length);
  if (body) await body.begin();
  else stream.destroy();
  reply.hijack();
  reply.raw.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
  if (body) body.send();
  else reply.raw.end();
}
