/**
 * Follows a log file by name as `tail -F` does, by polling (inotify misses what another host
 * writes to a network file system, and a poll every few seconds costs one `stat`): what the file
 * holds when following starts is history and is skipped; each `read()` returns the complete lines
 * added since. A file not there yet (or gone) is waited for and read from its start once it
 * appears; a file replaced under the name (logrotate's create) is read to its end, then the new one
 * from its start; one truncated in place (copytruncate) from its start again, once a read finds it
 * shorter than what was read (as tail does). A line still being written is kept until its newline
 * comes; a line longer than MAX_LINE is cut there.
 *
 * @example
 * const tail = new LogTail('/var/log/kern.log');
 * await tail.start();
 * for (const line of await tail.read()) console.log(line);
 * await tail.close();
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

/** The most one `read()` takes in, so that a huge new file is read over several calls. */
const MAX_READ = 1024 * 1024;
const CHUNK = 64 * 1024;
/** A line longer than this is cut (a binary file named by mistake cannot grow a line forever). */
const MAX_LINE = 64 * 1024;

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

export class LogTail {
  #file: { handle: FileHandle; dev: number; ino: number } | null = null;
  #position = 0;
  #partial = '';
  #decoder = new StringDecoder('utf8');
  #closed = false;

  constructor(readonly path: string) {}

  /** Whether the file was there at the last look. */
  get found(): boolean {
    return this.#file !== null;
  }

  /** Starts following at the file's end (at its start once it appears, if it is not there yet). */
  async start(): Promise<void> {
    await this.#open(true).catch((error: unknown) => {
      if (!isMissing(error)) throw error;
    });
  }

  /** The complete lines written since the last call. Throws when the file cannot be read. */
  async read(): Promise<string[]> {
    if (this.#closed) return [];
    const now = await stat(this.path).catch((error: unknown) => {
      if (isMissing(error)) return null;
      throw error;
    });
    const file = this.#file;
    if (file && now && now.ino === file.ino && now.dev === file.dev) {
      // Truncated in place (seen, as by tail, while it is shorter than what was read): from its start.
      if (now.size < this.#position) this.#restart(0);
      return this.#drain();
    }
    const lines = await this.#drain(); // the old file to its end: replaced under the name, or gone
    if (now) {
      await this.#open(false);
      lines.push(...(await this.#drain()));
    }
    return lines;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const file = this.#file;
    this.#file = null;
    await file?.handle.close().catch(() => undefined);
  }

  async #open(atEnd: boolean): Promise<void> {
    const handle = await open(this.path, 'r');
    const { dev, ino, size } = await handle.stat();
    await this.#file?.handle.close().catch(() => undefined);
    this.#file = { handle, dev, ino };
    this.#restart(atEnd ? size : 0);
  }

  #restart(position: number): void {
    this.#position = position;
    this.#partial = '';
    this.#decoder = new StringDecoder('utf8');
  }

  /** Reads what the open file holds past the position, up to MAX_READ, into complete lines. */
  async #drain(): Promise<string[]> {
    const file = this.#file;
    if (!file) return [];
    const buffer = Buffer.alloc(CHUNK);
    const lines: string[] = [];
    for (let total = 0; total < MAX_READ;) {
      const { bytesRead } = await file.handle.read(buffer, 0, CHUNK, this.#position);
      if (bytesRead === 0) break;
      this.#position += bytesRead;
      total += bytesRead;
      const parts = (this.#partial + this.#decoder.write(buffer.subarray(0, bytesRead))).split('\n');
      this.#partial = (parts.pop() ?? '').slice(0, MAX_LINE);
      lines.push(...parts.map((line) => line.slice(0, MAX_LINE)));
    }
    return lines;
  }
}
