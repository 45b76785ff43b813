/**
 * A zip of some of a task's outputs, streamed while it is built: one file is read from the store
 * at a time (opened only when its turn comes). Files are stored, not deflated, unless asked: the
 * size of the zip is then known up front (Content-Length) and large binary outputs are not slowed
 * down by compression that gains little. yazl writes ZIP64 records when a file needs them.
 */
import type { Readable } from 'node:stream';
import { ZipFile } from 'yazl';
import type { ArtifactStore, OutputFile, OutputManifest } from '@gpufleet/core';

export interface OutputZip {
  stream: Readable;
  /** Bytes of the whole zip, when known before it is written (stored files). */
  size: number | null;
}

export function zipOutputs(
  store: ArtifactStore,
  manifest: OutputManifest,
  files: readonly OutputFile[],
  options: { compress: boolean; mtime: Date },
): OutputZip {
  const zip = new ZipFile();
  const output = zip.outputStream as Readable;
  let current: Readable | null = null;
  const fail = (error: unknown): void => {
    output.destroy(error instanceof Error ? error : new Error(String(error)));
  };
  zip.on('error', fail);
  // The client went away: stop reading the file in progress.
  output.once('close', () => current?.destroy());
  for (const file of files) {
    zip.addReadStreamLazy(
      file.path,
      { size: file.size, compress: options.compress, mtime: options.mtime },
      (callback: (error: unknown, stream: NodeJS.ReadableStream) => void) => {
        store.get(`${manifest.prefix}/${file.path}`).then((stream) => {
          current = stream;
          stream.once('error', fail);
          callback(null, stream);
        }, fail);
      },
    );
  }
  let size: number | null = null;
  zip.end(undefined, ((total: number) => {
    size = total >= 0 ? total : null;
  }) as () => void);
  return { stream: output, size };
}
