/**
 * Stores an attempt's outputs in the artifact store under `tenant/task/attempt/outputs/`, then
 * writes `tenant/task/attempt/manifest.json`: the manifest (path, size, sha256 of each file). The
 * executer's output folder is walked without following symlinks; `stdout.txt` and `stderr.txt`
 * are the tracker's own files and take those two names (an executer file of the same name at the
 * top is skipped). Files are handed to the store with `storeFile`: the folder store moves them
 * into place rather than copying them, so the task folder is used up by the upload.
 */
import { lstat, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  storeFile,
  withStoreRetry,
  type ArtifactStore,
  type FileDigest,
  type Logger,
  type OutputFile,
  type OutputManifest,
  type PutResult,
} from '@gpufleet/core';
import type { TaskFolder } from './task-folder.js';

export const RESERVED_OUTPUTS = ['stdout.txt', 'stderr.txt'] as const;
/** Files uploaded at once: their writes and fsyncs overlap. */
export const UPLOAD_CONCURRENCY = 4;

/** Regular files under `dir`, as `/`-separated relative paths in sorted order; symlinks skipped. */
export async function listFiles(dir: string, base = ''): Promise<string[]> {
  const entries = await readdir(join(dir, base), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  const files: string[] = [];
  for (const entry of entries) {
    const rel = base === '' ? entry.name : `${base}/${entry.name}`;
    if (entry.isDirectory()) files.push(...(await listFiles(dir, rel)));
    else if (entry.isFile()) files.push(rel);
  }
  return files;
}

export interface UploadProgress {
  (done: number, total: number): void;
}

export interface UploadOptions {
  /** Keep retrying each file through transient store failures this long (then give up). */
  retryMs: number;
  logger?: Logger;
  onProgress?: UploadProgress;
  /** Size and sha256 of stdout.txt and stderr.txt, computed while they were written. */
  logs?: { stdout: FileDigest; stderr: FileDigest };
}

/**
 * Stores every output, then the manifest: the manifest is written last, so a stored manifest
 * means every file it lists is stored. Each put is retried through transient failures.
 */
export async function uploadOutputs(
  store: ArtifactStore,
  folder: TaskFolder,
  attemptPrefix: string,
  attempt: number,
  options: UploadOptions,
): Promise<OutputManifest> {
  const stop = new AbortController();
  const retried = (key: string, op: () => Promise<PutResult>): Promise<PutResult> =>
    withStoreRetry(op, {
      limitMs: options.retryMs,
      logger: options.logger,
      what: `upload of ${key}`,
      signal: stop.signal,
    });
  const sources: Array<{ path: string; file: string; known?: FileDigest }> = [
    { path: 'stdout.txt', file: folder.stdoutPath, known: options.logs?.stdout },
    { path: 'stderr.txt', file: folder.stderrPath, known: options.logs?.stderr },
  ];
  for (const rel of await listFiles(folder.outputDir)) {
    if ((RESERVED_OUTPUTS as readonly string[]).includes(rel)) continue;
    sources.push({ path: rel, file: join(folder.outputDir, rel) });
  }
  const prefix = `${attemptPrefix}/outputs`;
  const files: Array<OutputFile | null> = new Array<OutputFile | null>(sources.length).fill(null);
  let next = 0;
  let uploaded = 0;
  const worker = async (): Promise<void> => {
    while (next < sources.length && !stop.signal.aborted) {
      const index = next++;
      const source = sources[index] as (typeof sources)[number];
      const info = await lstat(source.file).catch(async (error: unknown) => {
        // A process that could not start may have left no log files: they are stored empty.
        if (!source.known || (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        await writeFile(source.file, '');
        return lstat(source.file);
      });
      if (!info.isFile()) continue;
      const key = `${prefix}/${source.path}`;
      const stored = await retried(key, () => storeFile(store, key, source.file, source.known));
      files[index] = { path: source.path, size: stored.size, sha256: stored.sha256 };
      options.onProgress?.(++uploaded, sources.length);
    }
  };
  // The first failure stops the other workers; all have settled before the error is reported, so
  // nothing still reads the task folder when the caller removes it.
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(UPLOAD_CONCURRENCY, sources.length) }, () =>
      worker().catch((error: unknown) => {
        stop.abort(error);
        throw error;
      }),
    ),
  );
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  const manifest: OutputManifest = {
    prefix,
    attempt,
    files: files.filter((f): f is OutputFile => f !== null),
  };
  const manifestKey = `${attemptPrefix}/manifest.json`;
  await retried(manifestKey, () => store.put(manifestKey, Buffer.from(JSON.stringify(manifest, null, 2))));
  return manifest;
}
