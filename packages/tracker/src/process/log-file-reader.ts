/**
 * Follows a log file that an executer process writes itself (its stdout or stderr goes straight
 * into the file): each `poll()` reads what was appended since the last one, feeds it to the live
 * log and hashes it, so when the process has ended `finish()` knows the file's size and sha256
 * without reading it again. Reads are bounded (256 KiB at a time), so memory stays flat however much
 * the process prints. A file that was never
 * followed and stayed empty (a short, quiet process) costs one `stat`.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';

const CHUNK_BYTES = 256 * 1024;

export const EMPTY_SHA256 = createHash('sha256').digest('hex');

export interface LogFileSummary {
  size: number;
  sha256: string;
}

export class LogFileReader {
  private handle: FileHandle | null = null;
  private readonly hash: Hash = createHash('sha256');
  private offset = 0;
  private buffer: Buffer | null = null;
  private reading: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly onChunk: (chunk: Buffer) => void,
  ) {}

  /** Reads what was appended since the last call (calls are queued, never overlap). */
  poll(): Promise<void> {
    this.reading = this.reading.then(() => this.readNew());
    return this.reading;
  }

  private async readNew(): Promise<void> {
    if (!this.handle) {
      try {
        this.handle = await open(this.path, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // not created yet
        throw error;
      }
    }
    this.buffer ??= Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await this.handle.read(this.buffer, 0, CHUNK_BYTES, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      const chunk = Buffer.from(this.buffer.subarray(0, bytesRead));
      this.hash.update(chunk);
      this.onChunk(chunk);
      if (bytesRead < CHUNK_BYTES) return;
    }
  }

  /** After the process ended: reads the rest, closes the file and returns its size and digest. */
  async finish(): Promise<LogFileSummary> {
    await this.reading;
    const empty = !this.handle && this.offset === 0 && (await stat(this.path).catch(() => null))?.size === 0;
    if (!empty) await this.poll();
    await this.handle?.close();
    this.handle = null;
    this.buffer = null;
    return { size: this.offset, sha256: this.offset === 0 ? EMPTY_SHA256 : this.hash.digest('hex') };
  }
}
