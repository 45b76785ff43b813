/**
 * Publishes a task's output to its capped Redis log stream for live followers. Chunks are merged
 * (up to `maxChunkBytes`, or `flushMs` after the first byte) and written one XADD at a time. Memory
 * is bounded: while Redis lags, at most `maxPendingBytes` wait; beyond that output is dropped from
 * the live stream (never from stdout.txt/stderr.txt) and a marker says how much.
 */
import type { Redis } from 'ioredis';
import { isRedisUnavailable, type Logger, type OutageReporter } from '@gpufleet/core';
import type { OutputStream } from '../process/executer-process.js';

export interface LogPublisherOptions {
  redis: Redis;
  key: string;
  logger: Logger;
  /** Where "Redis is unreachable" goes (one line a second for the whole process). */
  outage?: OutageReporter;
  /** Approximate number of entries the stream keeps (XADD MAXLEN ~). */
  maxLen?: number;
  maxChunkBytes?: number;
  maxPendingBytes?: number;
  flushMs?: number;
}

interface Pending {
  stream: OutputStream;
  chunks: Buffer[];
  bytes: number;
}

export class LogPublisher {
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private droppedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private failedLogged = false;
  private readonly maxLen: number;
  private readonly maxChunkBytes: number;
  private readonly maxPendingBytes: number;
  private readonly flushMs: number;

  constructor(private readonly options: LogPublisherOptions) {
    this.maxLen = options.maxLen ?? 5000;
    this.maxChunkBytes = options.maxChunkBytes ?? 64 * 1024;
    this.maxPendingBytes = options.maxPendingBytes ?? 4 * 1024 * 1024;
    this.flushMs = options.flushMs ?? 50;
  }

  write(stream: OutputStream, chunk: Buffer): void {
    if (this.pendingBytes + chunk.length > this.maxPendingBytes) {
      this.droppedBytes += chunk.length;
      return;
    }
    const last = this.pending.at(-1);
    if (last && last.stream === stream && last.bytes + chunk.length <= this.maxChunkBytes) {
      last.chunks.push(chunk);
      last.bytes += chunk.length;
    } else {
      this.pending.push({ stream, chunks: [chunk], bytes: chunk.length });
    }
    this.pendingBytes += chunk.length;
    if (this.pending.length > 1 || this.pendingBytes >= this.maxChunkBytes) this.flushSoon(0);
    else this.flushSoon(this.flushMs);
  }

  private flushSoon(delayMs: number): void {
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.writing = this.writing.then(() => this.drain());
    }, delayMs);
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.shift() as Pending;
      this.pendingBytes -= batch.bytes;
      await this.xadd(batch.stream, Buffer.concat(batch.chunks));
    }
    if (this.droppedBytes > 0) {
      const dropped = this.droppedBytes;
      this.droppedBytes = 0;
      await this.xadd(
        'stderr',
        Buffer.from(
          `\n[gpufleet: ${dropped} bytes of output were too fast for the live log; stdout.txt and stderr.txt hold all of it]\n`,
        ),
      );
    }
  }

  private async xadd(stream: OutputStream, data: Buffer): Promise<void> {
    try {
      await this.options.redis.xadd(
        this.options.key,
        'MAXLEN',
        '~',
        this.maxLen,
        '*',
        's',
        stream,
        'd',
        data,
      );
    } catch (error) {
      if (this.options.outage && isRedisUnavailable(error)) {
        this.options.outage.report(error, { what: 'live log' });
      } else if (!this.failedLogged) {
        this.options.logger.warn(
          { err: error },
          'live log stream write failed; output is still kept in files',
        );
      }
      this.failedLogged = true;
    }
  }

  /** Writes what is pending and resolves when it is written. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing = this.writing.then(() => this.drain());
    await this.writing;
  }
}
