/**
 * Checks of the zips the API writes, apart from the zip writer it uses (yazl):
 * - `zipLayout`: a zip's length worked out from the ZIP format (PKWARE's APPNOTE.TXT) as the API
 *   lays files out, for checking the length it announces where a test cannot afford to stream;
 * - `saveZip`: streams a zip into a file, counting its bytes (runs of zeros are skipped over, so a
 *   4 GiB zip of sparse files takes little disk);
 * - `readZip`: reads a zip back with yauzl, a separate reader that follows ZIP64 records.
 */
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';

/** A size or offset this large is written in a ZIP64 field (the 32-bit one holds 0xffffffff). */
const ZIP64_AT = 0xffffffff;

export interface ZipLayout {
  centralDirectoryOffset: number;
  centralDirectorySize: number;
  /** The ZIP64 end of central directory record and locator (56 + 20 bytes) are written. */
  zip64End: boolean;
  length: number;
}

/**
 * Each file (stored, size known before its bytes, CRC-32 after them): a local header of 30 bytes
 * and its name, its bytes, a data descriptor of 16 bytes (24 in ZIP64); then for each file a
 * central directory record of 46 bytes, its name and a 9-byte extended timestamp, and a 28-byte
 * ZIP64 field when its size or offset needs one; then the end record of 22 bytes. The ZIP64 end
 * records come before it from 65,535 files or when the central directory starts past 32 bits, and
 * also (as the API asks yazl) once the central directory reaches 64 KiB.
 */
export function zipLayout(files: ReadonlyArray<{ path: string; size: number }>): ZipLayout {
  let offset = 0;
  let central = 0;
  for (const file of files) {
    const name = Buffer.byteLength(file.path);
    const zip64 = file.size >= ZIP64_AT || offset >= ZIP64_AT;
    offset += 30 + name + file.size + (zip64 ? 24 : 16);
    central += 46 + name + 9 + (zip64 ? 28 : 0);
  }
  const zip64End = files.length >= 0xffff || central >= 0xffff || offset >= ZIP64_AT;
  return {
    centralDirectoryOffset: offset,
    centralDirectorySize: central,
    zip64End,
    length: offset + central + (zip64End ? 56 + 20 : 0) + 22,
  };
}

const ZEROS = Buffer.alloc(4 << 20);

/** Writes `stream` to `path` (a new file), leaving holes where it sends only zeros; its length. */
export async function saveZip(stream: Readable, path: string): Promise<number> {
  const file = await open(path, 'w');
  let position = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const zeros = chunk.length <= ZEROS.length && chunk.equals(ZEROS.subarray(0, chunk.length));
      if (!zeros) await file.write(chunk, 0, chunk.length, position);
      position += chunk.length;
    }
    await file.truncate(position);
  } finally {
    await file.close();
  }
  return position;
}

export interface ReadEntry {
  size: number;
  /** The file's bytes, or its last `TAIL_BYTES` when it is larger than `WHOLE_BYTES`. */
  data: Buffer;
}

export const WHOLE_BYTES = 1 << 20;
export const TAIL_BYTES = 64;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Every entry of the zip (a Buffer, or a file's path), by name, in the central directory's order. */
export async function readZip(zip: Buffer | string): Promise<Map<string, ReadEntry>> {
  const options = { lazyEntries: true, strictFileNames: true, validateEntrySizes: true };
  const file =
    typeof zip === 'string'
      ? await yauzl.openPromise(zip, options)
      : await yauzl.fromBufferPromise(zip, options);
  const entries = new Map<string, ReadEntry>();
  try {
    for await (const entry of file.eachEntry()) {
      const range =
        entry.uncompressedSize > WHOLE_BYTES ? { start: entry.uncompressedSize - TAIL_BYTES } : {};
      const data = await readAll(await file.openReadStreamPromise(entry, range));
      entries.set(entry.fileName, { size: entry.uncompressedSize, data });
    }
    if (entries.size !== file.entryCount) throw new Error(`${entries.size} entries of ${file.entryCount}`);
  } finally {
    file.close();
  }
  return entries;
}
