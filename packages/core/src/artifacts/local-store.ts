import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import type { Dirent } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, open, readdir, realpath, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { ConfigError, InfraError, NotFoundError, PathEscapeError } from '../errors.js';
import { checkRange, checkSha256Option, TEMP_FILE, tempPathFor, verifySha256 } from './artifact-checks.js';
import { checkArtifactKey } from './artifact-key.js';
import type {
  ArtifactInfo,
  ArtifactStore,
  DownloadOptions,
  FileDigest,
  PutResult,
} from './artifact-store.js';
import { chunksOf, streamOf } from './byte-source.js';
import { withFileSource } from './file-source.js';

const isMissing = (error: unknown): boolean =>
  error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR');

/** For `.catch`: nothing there (null), any other error rethrown. */
const nullIfMissing = (error: unknown): Promise<null> =>
  isMissing(error) ? Promise.resolve(null) : Promise.reject(error);

const ignore = (): void => undefined;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Opens `path` for reading if it is a regular file; null if there is none. */
async function openFile(path: string): Promise<FileHandle | null> {
  const handle = await open(path, 'r').catch(nullIfMissing);
  if (handle && !(await handle.stat()).isFile()) {
    await handle.close();
    return null;
  }
  return handle;
}

const READ_CHUNK_BYTES = 1024 * 1024;

/** Flushes a file (or a folder's entries) to disk; some file systems cannot fsync a folder. */
async function fsync(path: string, flags = 'r'): Promise<void> {
  const handle = await open(path, flags);
  await handle.sync().finally(() => handle.close());
}

/**
 * Artifacts as files under a local folder: key `a/b/c` is `<root>/a/b/c`. Writes go to a temp file
 * in the same folder, are fsynced and renamed over the destination, so readers see whole objects.
 */
export class LocalArtifactStore implements ArtifactStore {
  readonly root: string;
  readonly description: string;
  #realRoot: string | undefined;

  readonly #fsync: boolean;

  /**
   * `root` must be absolute; it is created on the first write. With `fsync` (the default) every
   * write is flushed to disk, file and folder, before it counts as done: outputs of a task that
   * succeeded survive a power loss. Without it, they survive a crash of any process but not of
   * the machine, and each write costs no disk flush (see docs/benchmarks.md).
   */
  constructor(root: string, options: { fsync?: boolean } = {}) {
    this.#fsync = options.fsync ?? true;
    if (!isAbsolute(root)) throw new ConfigError([{ field: 'root', reason: `"${root}" is not absolute` }]);
    this.root = resolve(root);
    this.description = pathToFileURL(this.root).href;
  }

  async put(key: string, source: Readable | Buffer | string): Promise<PutResult> {
    const path = this.#pathOf(key);
    const stream = streamOf(source);
    stream?.on('error', ignore); // an error before reading starts comes out of the read loop below
    let temp: string | undefined;
    let handle: FileHandle | undefined;
    try {
      await mkdir(dirname(path), { recursive: true });
      await this.#confine(key, await realpath(dirname(path)));
      temp = tempPathFor(path);
      handle = await open(temp, 'wx');
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of chunksOf(source)) {
        hash.update(chunk);
        size += chunk.length;
        for (let done = 0; done < chunk.length;) done += (await handle.write(chunk, done)).bytesWritten;
      }
      if (this.#fsync) await handle.sync();
      await handle.close();
      handle = undefined;
      await rename(temp, path);
      temp = undefined;
      if (this.#fsync) await fsync(dirname(path)).catch(ignore);
      return { key, size, sha256: hash.digest('hex') };
    } catch (error) {
      stream?.destroy();
      await handle?.close().catch(ignore);
      if (temp !== undefined) await rm(temp, { force: true }).catch(ignore);
      if (error instanceof PathEscapeError) throw error;
      const message = `could not write artifact "${key}" to ${this.description}: ${messageOf(error)}`;
      throw new InfraError('ARTIFACT_WRITE_FAILED', message, error);
    } finally {
      stream?.off('error', ignore);
    }
  }

  /**
   * Moves the file into place (rename) when it is on the store's file system, after flushing it
   * to disk; a file that is not a plain file with one link (a hard link could change it later),
   * or one on another file system, is copied by `put`. The file is hashed first unless `known`.
   */
  async putFile(key: string, path: string, known?: FileDigest): Promise<PutResult> {
    const target = this.#pathOf(key);
    const info = await lstat(path).catch(() => null);
    if (!info?.isFile() || info.nlink !== 1) return this.put(key, createReadStream(path));
    try {
      const digest = known ?? { size: info.size, sha256: await sha256Of(path) };
      await mkdir(dirname(target), { recursive: true });
      await this.#confine(key, await realpath(dirname(target)));
      if ((info.mode & 0o644) !== 0o644) await chmod(path, info.mode | 0o644); // readable like put's files
      if (this.#fsync && digest.size > 0) await fsync(path); // an empty file has no data to flush
      await rename(path, target);
      if (this.#fsync) await fsync(dirname(target)).catch(ignore);
      return { key, ...digest };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EXDEV') return this.put(key, createReadStream(path));
      if (error instanceof PathEscapeError) throw error;
      const message = `could not store "${path}" as artifact "${key}" in ${this.description}: ${messageOf(error)}`;
      throw new InfraError('ARTIFACT_WRITE_FAILED', message, error);
    }
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    if (range) checkRange(range);
    const real = await this.#existing(key);
    const handle = real === null ? null : await openFile(real);
    if (!handle) throw new NotFoundError(`artifact "${key}" in ${this.description}`);
    // 1 MiB reads: a download streams at disk speed instead of paying per 64 KiB chunk.
    const stream = handle.createReadStream({
      start: range?.start,
      end: range?.end,
      highWaterMark: READ_CHUNK_BYTES,
    });
    // The API's download reads the file itself, into buffers it reuses (see file-source.ts).
    return withFileSource(stream, { handle, start: range?.start ?? 0, end: range?.end ?? Infinity });
  }

  async stat(key: string): Promise<ArtifactInfo | null> {
    const real = await this.#existing(key);
    const info = real === null ? null : await lstat(real).catch(nullIfMissing);
    return info?.isFile() ? { key, size: info.size } : null;
  }

  async *list(prefix: string): AsyncIterable<ArtifactInfo> {
    if (prefix === '') {
      const root = await this.#realRootPath();
      if (root !== null) yield* this.#walk(root, '');
      return;
    }
    const real = await this.#existing(prefix);
    const info = real === null ? null : await lstat(real).catch(() => null);
    if (real !== null && info?.isFile()) yield { key: prefix, size: info.size };
    if (real !== null && info?.isDirectory()) yield* this.#walk(real, prefix);
  }

  async deletePrefix(prefix: string): Promise<void> {
    const path = this.#pathOf(prefix);
    try {
      const parent = await realpath(dirname(path));
      await this.#confine(prefix, parent);
      await rm(join(parent, basename(path)), { recursive: true, force: true });
    } catch (error) {
      if (isMissing(error)) return;
      if (error instanceof PathEscapeError) throw error;
      const message = `could not delete "${prefix}" in ${this.description}: ${messageOf(error)}`;
      throw new InfraError('ARTIFACT_DELETE_FAILED', message, error);
    }
  }

  async download(key: string, destination: string, options: DownloadOptions = {}): Promise<void> {
    checkSha256Option(options.sha256);
    const real = await this.#existing(key);
    if (real === null || !(await lstat(real).catch(() => null))?.isFile())
      throw new NotFoundError(`artifact "${key}" in ${this.description}`);
    const target = resolve(destination);
    const temp = tempPathFor(target);
    try {
      await mkdir(dirname(target), { recursive: true });
      await copyFile(real, temp, constants.COPYFILE_EXCL);
      if (options.sha256 !== undefined)
        verifySha256(key, await sha256Of(temp), options.sha256, 'the manifest');
      if (this.#fsync) await fsync(temp, 'r+');
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true }).catch(ignore);
      if (error instanceof InfraError) throw error;
      const message = `could not download artifact "${key}" to ${target}: ${messageOf(error)}`;
      throw new InfraError('ARTIFACT_DOWNLOAD_FAILED', message, error);
    }
  }

  async close(): Promise<void> {}

  /** The path of a checked key, confirmed (lexically) to lie inside the root. */
  #pathOf(key: string): string {
    const path = resolve(this.root, ...checkArtifactKey(key).split('/'));
    const rel = relative(this.root, path);
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new PathEscapeError(key, 'it resolves outside the store root');
    }
    return path;
  }

  async #realRootPath(): Promise<string | null> {
    this.#realRoot ??= (await realpath(this.root).catch(nullIfMissing)) ?? undefined;
    return this.#realRoot ?? null;
  }

  /** Throws PathEscapeError unless the real path `real` lies inside the real root (symbolic links). */
  async #confine(key: string, real: string): Promise<void> {
    const root = await this.#realRootPath();
    if (root === null || (real !== root && !real.startsWith(root + sep))) {
      throw new PathEscapeError(key, 'a symbolic link leads outside the store root');
    }
  }

  /** The real path of what `key` names, confined to the root; null if nothing is there. */
  async #existing(key: string): Promise<string | null> {
    const path = this.#pathOf(key);
    const real = await realpath(path).catch(nullIfMissing);
    if (real !== null) await this.#confine(key, real);
    return real;
  }

  /** Every regular file under `dir` in key order; never follows symbolic links, skips temp files. */
  async *#walk(dir: string, keyPrefix: string): AsyncGenerator<ArtifactInfo> {
    const entries = (await readdir(dir, { withFileTypes: true }).catch(nullIfMissing)) ?? [];
    // A folder sorts as `name/`: every key under it starts so, which keeps the walk in key order.
    const sortName = (entry: Dirent): string => (entry.isDirectory() ? `${entry.name}/` : entry.name);
    const wanted = entries
      .filter((e) => (e.isDirectory() || (e.isFile() && !TEMP_FILE.test(e.name))) && !e.name.includes('\\'))
      .sort((a, b) => (sortName(a) < sortName(b) ? -1 : sortName(a) > sortName(b) ? 1 : 0));
    for (const entry of wanted) {
      const key = keyPrefix === '' ? entry.name : `${keyPrefix}/${entry.name}`;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        yield* this.#walk(path, key);
        continue;
      }
      const info = await lstat(path).catch(() => null);
      if (info?.isFile()) yield { key, size: info.size };
    }
  }
}

/** The hex sha256 of a file's bytes, streaming. */
async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}
