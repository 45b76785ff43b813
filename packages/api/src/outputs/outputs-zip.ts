/**
 * A zip of some of a task's outputs, streamed while it is built: one file is read from the store
 * at a time (opened only when its turn comes). Files are stored, not deflated, unless asked: the
 * size of the zip is then known up front (Content-Length) and large binary outputs are not slowed
 * down by compression that gains little. yazl writes ZIP64 records when a file needs them.
 *
 * The size is the one yazl calculates before writing. yazl (3.3.1) counts the ZIP64 end records
 * (76 bytes) as soon as the central directory reaches 64 KiB (about 1,000 files), but writes them
 * only from 65,535 entries or 4 GiB: the zip came out 76 bytes short of its Content-Length. So
 * yazl is asked first whether its size counts those records, and when it does it is told to write
 * them (`forceZip64Format`), which makes the size it calculates the size it writes.
 */
import type { Readable } from 'node:stream';
import { ZipFile } from 'yazl';
import type { ArtifactStore, OutputFile, OutputManifest } from '@gpufleet/core';

export interface OutputZip {
  stream: Readable;
  /** Bytes of the whole zip, when known before it is written (stored files). */
  size: number | null;
}

export interface ZipOptions {
  compress: boolean;
  mtime: Date;
}

type OpenEntry = (
  file: OutputFile,
  callback: (error: unknown, stream: NodeJS.ReadableStream) => void,
) => void;

function addEntries(zip: ZipFile, files: readonly OutputFile[], options: ZipOptions, open: OpenEntry): void {
  for (const file of files) {
    zip.addReadStreamLazy(
      file.path,
      { size: file.size, compress: options.compress, mtime: options.mtime },
      (callback: (error: unknown, stream: NodeJS.ReadableStream) => void) => open(file, callback),
    );
  }
}

/** Ends `zip` and returns the size yazl calculates for it, or null when it cannot (deflated files). */
function endZip(zip: ZipFile, forceZip64Format: boolean): number | null {
  let size: number | null = null;
  // yazl calls back during end() when every size is known, as here (its types omit the argument).
  zip.end({ forceZip64Format, comment: '' }, ((total: number) => {
    size = total >= 0 ? total : null;
  }) as () => void);
  return size;
}

/** The size yazl calculates for a zip of `files`, from a zip that is never read (nor any file). */
function calculatedSize(
  files: readonly OutputFile[],
  options: ZipOptions,
  forceZip64Format: boolean,
): number | null {
  const zip = new ZipFile();
  addEntries(zip, files, options, () => undefined);
  return endZip(zip, forceZip64Format);
}

/**
 * Whether the size yazl calculates counts the ZIP64 end records: then it is the same whether or
 * not they are forced.
 */
function sizeCountsZip64End(files: readonly OutputFile[], options: ZipOptions): boolean {
  const plain = calculatedSize(files, options, false);
  return plain !== null && plain === calculatedSize(files, options, true);
}

export function zipOutputs(
  store: ArtifactStore,
  manifest: OutputManifest,
  files: readonly OutputFile[],
  options: ZipOptions,
): OutputZip {
  const forceZip64Format = sizeCountsZip64End(files, options);
  const zip = new ZipFile();
  const output = zip.outputStream as Readable;
  let current: Readable | null = null;
  const fail = (error: unknown): void => {
    output.destroy(error instanceof Error ? error : new Error(String(error)));
  };
  zip.on('error', fail);
  // The client went away: stop reading the file in progress.
  output.once('close', () => current?.destroy());
  addEntries(zip, files, options, (file, callback) => {
    store.get(`${manifest.prefix}/${file.path}`).then((stream) => {
      current = stream;
      stream.once('error', fail);
      callback(null, stream);
    }, fail);
  });
  return { stream: output, size: endZip(zip, forceZip64Format) };
}
