/**
 * Downloads a task's outputs into a folder: the manifest first, then each file streamed to
 * `<path>.gpufleet-part` while its sha256 is computed, checked against the manifest (size and
 * hash) and renamed into place. A file already there with the same hash is kept (`skipped`), so
 * running a download again only fetches what is missing. A file whose transfer breaks off is
 * fetched again within the client's retry budget. `files` picks paths, or folders of paths.
 * Node only: `task.download()` loads this module when first called (see node-only.ts).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ApiUnreachableError, DownloadError } from '../errors.js';
import type { OutputFile, OutputManifest } from '../generated/api-types.js';
import type { HttpClient } from '../http/http-client.js';
import { outputUrlPath } from './output-url.js';

export interface DownloadProgress {
  /** The file being written. */
  path: string;
  fileBytes: number;
  fileSize: number;
  /** Bytes of all selected files done so far (skipped files count as done). */
  bytes: number;
  totalBytes: number;
  filesDone: number;
  files: number;
}

export interface DownloadOptions {
  /** Only these output paths; a path that names a folder takes every file under it. */
  files?: readonly string[];
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
}

export interface DownloadedFile extends OutputFile {
  /** Where it was written. */
  localPath: string;
  /** It was already there with the same sha256. */
  skipped: boolean;
}

export interface DownloadResult {
  dir: string;
  /** The attempt whose outputs these are. */
  attempt: number;
  bytes: number;
  files: DownloadedFile[];
}

export function selectFiles(manifest: OutputManifest, wanted: readonly string[] | undefined): OutputFile[] {
  if (!wanted || wanted.length === 0) return manifest.files;
  const chosen = new Set<OutputFile>();
  for (const raw of wanted) {
    const name = raw.replace(/\/+$/, '');
    const hits = manifest.files.filter((f) => f.path === name || f.path.startsWith(`${name}/`));
    if (hits.length === 0) {
      throw new DownloadError('OUTPUT_NOT_FOUND', `the task has no output "${raw}"`);
    }
    hits.forEach((f) => chosen.add(f));
  }
  return manifest.files.filter((f) => chosen.has(f));
}

function localPathOf(dir: string, path: string): string {
  const target = resolve(dir, path);
  const bad = path.split('/').some((p) => p === '' || p === '.' || p === '..') || path.includes('\\');
  if (bad || !target.startsWith(dir + sep)) {
    throw new DownloadError('INVALID_PATH', `refusing to write output "${path}" outside ${dir}`);
  }
  return target;
}

async function sha256Of(path: string): Promise<string | null> {
  try {
    const hash = createHash('sha256');
    await pipeline(createReadStream(path), hash);
    return hash.digest('hex');
  } catch {
    return null;
  }
}

async function fetchFile(
  http: HttpClient,
  taskId: string,
  file: OutputFile,
  target: string,
  onBytes: (fileBytes: number) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  const part = `${target}.gpufleet-part`;
  const budget = http.newBudget();
  for (;;) {
    const response = await http.request(outputUrlPath(taskId, file.path), { signal, budget });
    const hash = createHash('sha256');
    let got = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        got += chunk.length;
        hash.update(chunk);
        onBytes(got);
        done(null, chunk);
      },
    });
    try {
      if (!response.body) throw new Error('the answer has no body');
      await pipeline(
        Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
        meter,
        createWriteStream(part),
        { signal },
      );
    } catch (error) {
      await rm(part, { force: true });
      if (signal?.aborted) throw error;
      if (await budget.pause(null, signal)) continue;
      throw new ApiUnreachableError(http.baseUrl, error);
    }
    const sha256 = hash.digest('hex');
    if (got !== file.size || sha256 !== file.sha256) {
      await rm(part, { force: true });
      throw new DownloadError(
        'DOWNLOAD_CORRUPT',
        `output "${file.path}" arrived as ${got} bytes with sha256 ${sha256}; the manifest says ${file.size} bytes, ${file.sha256}`,
      );
    }
    await rename(part, target);
    return;
  }
}

export async function downloadOutputs(
  http: HttpClient,
  taskId: string,
  dir: string,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const root = resolve(dir);
  const manifest = await http.json<OutputManifest>(`/v1/tasks/${encodeURIComponent(taskId)}/outputs`, {
    signal: options.signal,
  });
  const files = selectFiles(manifest, options.files);
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  const done: DownloadedFile[] = [];
  let bytes = 0;
  for (const file of files) {
    const localPath = localPathOf(root, file.path);
    await mkdir(dirname(localPath), { recursive: true });
    const existing = await stat(localPath).catch(() => null);
    const skipped = existing?.size === file.size && (await sha256Of(localPath)) === file.sha256;
    const report = (fileBytes: number): void =>
      options.onProgress?.({
        path: file.path,
        fileBytes,
        fileSize: file.size,
        bytes: bytes + fileBytes,
        totalBytes,
        filesDone: done.length,
        files: files.length,
      });
    if (!skipped) await fetchFile(http, taskId, file, localPath, report, options.signal);
    done.push({ ...file, localPath, skipped });
    bytes += file.size;
    options.onProgress?.({
      path: file.path,
      fileBytes: file.size,
      fileSize: file.size,
      bytes,
      totalBytes,
      filesDone: done.length,
      files: files.length,
    });
  }
  return { dir: root, attempt: manifest.attempt, bytes: totalBytes, files: done };
}
