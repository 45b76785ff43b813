/** What a `put` accepts, and its bytes as a stream of Buffers. */
import type { Readable } from 'node:stream';

/** The bytes of an artifact to store: a stream of bytes or strings, a Buffer or a string (UTF-8). */
export type ByteSource = Readable | Buffer | string;

/** The bytes of `source` as Buffers, streaming (a stream is read as the consumer asks). */
export async function* chunksOf(source: ByteSource): AsyncGenerator<Buffer> {
  if (typeof source === 'string' || Buffer.isBuffer(source)) {
    yield typeof source === 'string' ? Buffer.from(source) : source;
    return;
  }
  for await (const chunk of source as AsyncIterable<unknown>) {
    if (typeof chunk === 'string') yield Buffer.from(chunk);
    else if (chunk instanceof Uint8Array) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    else throw new TypeError('the source stream must yield bytes or strings');
  }
}

/** The source as a stream, or null for a Buffer or string. */
export const streamOf = (source: ByteSource): Readable | null =>
  typeof source === 'string' || Buffer.isBuffer(source) ? null : source;
