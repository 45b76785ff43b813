/**
 * Uploads an attempt's outputs to the artifact store under `tenant/task/attempt/outputs/`, then
 * writes `tenant/task/attempt/manifest.json`: the manifest (path, size, sha256 of each file, computed while uploading). The executer's output
 * folder is walked without following symlinks; `stdout.txt` and `stderr.txt` are the tracker's
 * own files and take those two names (an executer file of the same name at the top is skipped).
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  withStoreRetry,
  type ArtifactStore,
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
  const put = (key: string, body: () => Readable | Buffer): Promise<PutResult> =>
    withStoreRetry(() => store.put(key, body()), {
      limitMs: options.retryMs,
      logger: options.logger,
      what: `upload of ${key}`,
      signal: stop.signal,
    });
  const sources: Array<{ path: string; file: string }> = [
    { path: 'stdout.txt', file: folder.stdoutPath },
    { path: 'stderr.txt', file: folder.stderrPath },
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
      const source = sources[index] as { path: string; file: string };
      const info = await lstat(source.file);
      if (!info.isFile()) continue;
      const stored = await put(`${prefix}/${source.path}`, () => createReadStream(source.file));
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
  await put(`${attemptPrefix}/manifest.json`, () => Buffer.from(JSON.stringify(manifest, null, 2)));
  return manifest;
}
