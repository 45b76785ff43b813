/**
 * Builds tar archives byte by byte for tests, including the malicious entries (`../x`, absolute
 * paths, escaping links, FIFOs) that `tar.c` refuses to create: each entry is a 512-byte ustar
 * header followed by its body padded to 512 bytes, and the archive ends with two zero blocks.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** ustar type flags: file, hard link, symlink, character device, block device, folder, FIFO. */
export type TypeFlag = '0' | '1' | '2' | '3' | '4' | '5' | '6' | 'x' | 'Z';

export interface RawEntry {
  /** Written as is into the 100-byte name field (at most 100 bytes). */
  name: string;
  type?: TypeFlag;
  body?: string | Buffer;
  /** Target of a hard link or symlink. */
  linkname?: string;
  mode?: number;
}

const BLOCK = 512;

/** Writes `value` as NUL-padded bytes into `header` at `offset`, refusing what does not fit. */
function putString(header: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`${JSON.stringify(value)} does not fit in ${length} bytes`);
  bytes.copy(header, offset);
}

/** Writes `value` as a zero-padded octal number followed by a NUL. */
function putOctal(header: Buffer, offset: number, length: number, value: number): void {
  putString(header, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

/** One 512-byte ustar header; the checksum is computed with its own field read as spaces. */
export function ustarHeader(entry: RawEntry, size: number): Buffer {
  const type = entry.type ?? '0';
  const header = Buffer.alloc(BLOCK);
  putString(header, 0, 100, entry.name);
  putOctal(header, 100, 8, entry.mode ?? (type === '5' ? 0o755 : 0o644));
  putOctal(header, 108, 8, 0); // uid
  putOctal(header, 116, 8, 0); // gid
  putOctal(header, 124, 12, size);
  putOctal(header, 136, 12, 1_700_000_000); // mtime
  header.fill(0x20, 148, 156); // checksum field counts as spaces
  putString(header, 156, 1, type);
  putString(header, 157, 100, entry.linkname ?? '');
  putString(header, 257, 6, 'ustar\0');
  putString(header, 263, 2, '00');
  let sum = 0;
  for (const byte of header) sum += byte;
  putString(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return header;
}

/** A whole uncompressed tar archive holding `entries` in order. */
export function makeTar(entries: readonly RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = typeof entry.body === 'string' ? Buffer.from(entry.body) : (entry.body ?? Buffer.alloc(0));
    blocks.push(ustarHeader(entry, body.length), body);
    const padding = (BLOCK - (body.length % BLOCK)) % BLOCK;
    blocks.push(Buffer.alloc(padding));
  }
  blocks.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(blocks);
}

/** A pax extended header entry (type `x`) that sets `records` on the entry after it. */
export function paxEntry(records: Readonly<Record<string, string>>): RawEntry {
  const lines = Object.entries(records).map(([key, value]) => {
    const text = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(text);
    length += String(length + String(length).length).length;
    return `${length}${text}`;
  });
  return { name: 'PaxHeader', type: 'x', body: lines.join('') };
}

/** Writes the archive into `dir` as `name`, gzipped when the name ends in `.gz` or `.tgz`. */
export async function writeTar(dir: string, name: string, entries: readonly RawEntry[]): Promise<string> {
  const tar = makeTar(entries);
  const path = join(dir, name);
  await writeFile(path, /\.(t?gz)$/.test(name) ? gzipSync(tar) : tar);
  return path;
}
