/**
 * A stream from `ArtifactStore.get` that reads a local file may say so: it carries the open file
 * and the bytes it would read, so a consumer that only passes the bytes on (the API's download)
 * can read the file itself into buffers it reuses, instead of taking a new buffer for every chunk
 * from the stream (at a GiB a second, collecting those buffers was most of the API's work).
 *
 * Whoever takes the file over must not read the stream, and destroys it when done: that closes
 * the file, once reads still in progress have finished.
 *
 * ```ts
 * const stream = await store.get(key);
 * const file = fileSourceOf(stream); // null: read the stream as usual
 * ```
 */
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';

export interface FileSource {
  /** The open file; the stream owns it (destroying the stream closes it). */
  readonly handle: FileHandle;
  /** Offset of the first byte the stream would read. */
  readonly start: number;
  /** Offset of the last byte it would read (inclusive); Infinity: to the end of the file. */
  readonly end: number;
}

const FILE_SOURCE = Symbol('gpufleet.fileSource');

/** Marks `stream` as reading `source` (for stores); returns the stream. */
export function withFileSource<T extends Readable>(stream: T, source: FileSource): T {
  Object.defineProperty(stream, FILE_SOURCE, { value: Object.freeze({ ...source }) });
  return stream;
}

/**
 * The file `stream` reads, if it reads a local file and nothing has read from it or destroyed it
 * yet; otherwise null.
 */
export function fileSourceOf(stream: Readable): FileSource | null {
  const source = (stream as Readable & { [FILE_SOURCE]?: FileSource })[FILE_SOURCE];
  if (!source || stream.readableDidRead || stream.destroyed) return null;
  return source;
}
