/**
 * Extracts a task's input archive (tar or tar.gz) into its `inputs/` folder without letting any
 * entry write outside it (DESIGN.md invariant 6). Pass one reads the whole archive and refuses
 * it, writing nothing, if one entry is unsafe or the archive is too large; pass two extracts
 * with node-tar's own protections on and the same check again as a filter.
 *
 *   const { files, bytes } = await extractArchive('/tasks/t1/inputs/data.tgz', '/tasks/t1/inputs');
 */
import { createReadStream } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Parser, ReadEntry, extract } from 'tar';
import { GpufleetError, PathEscapeError } from '@gpufleet/core';
import { checkArchiveEntry, recordArchiveEntry, type SeenEntries } from './check-archive-entry.js';

export interface ExtractLimits {
  /** The most bytes the archive's files may hold together, once extracted. */
  maxBytes: number;
  /** The most entries (files, folders, links) the archive may hold. */
  maxEntries: number;
}

/** 10 GiB and 100,000 entries: enough for real inputs, too little for an archive bomb. */
export const DEFAULT_EXTRACT_LIMITS: Readonly<ExtractLimits> = Object.freeze({
  maxBytes: 10 * 1024 ** 3,
  maxEntries: 100_000,
});

export interface ExtractResult {
  /** Regular files extracted (links and folders not counted). */
  files: number;
  /** Their bytes, in total. */
  bytes: number;
}

/** Judges the entries of one pass in archive order and keeps the counts that the limits bound. */
class EntryGate {
  readonly seen: SeenEntries = new Map();
  /** Paths that must not already be symlinks on disk, each with the first entry that needs it. */
  readonly touches = new Map<string, string>();
  readonly result: ExtractResult = { files: 0, bytes: 0 };
  #entries = 0;
  readonly #archivePath: string;
  readonly #limits: ExtractLimits;
  /** The archive's own path relative to the folder, when it lies inside (the usual `inputs/x.tgz`). */
  readonly #self: string | undefined;

  constructor(archivePath: string, destDir: string, limits: ExtractLimits) {
    this.#archivePath = archivePath;
    this.#limits = limits;
    const self = relative(resolve(destDir), resolve(archivePath));
    this.#self = self === '..' || self.startsWith('../') || isAbsolute(self) ? undefined : self;
  }

  /** The error that refuses `entry`, or undefined when it may be extracted. */
  admit(entry: ReadEntry): GpufleetError | undefined {
    this.#entries += 1;
    if (this.#entries > this.#limits.maxEntries) {
      return this.#tooLarge(`more than ${this.#limits.maxEntries} entries (limit maxEntries)`);
    }
    const verdict = checkArchiveEntry(entry, this.seen);
    if (!verdict.ok) return new PathEscapeError(entry.path, verdict.reason);
    if (verdict.path === this.#self) {
      const what = `entry ${JSON.stringify(entry.path)} would overwrite the archive while it is read`;
      return new GpufleetError('INPUT_ARCHIVE_INVALID', `archive ${this.#archivePath}: ${what}`);
    }
    recordArchiveEntry(this.seen, verdict);
    for (const path of verdict.touches) if (!this.touches.has(path)) this.touches.set(path, entry.path);
    if (verdict.kind === 'file') {
      this.result.files += 1;
      this.result.bytes += entry.size;
      if (this.result.bytes > this.#limits.maxBytes) {
        return this.#tooLarge(`more than ${this.#limits.maxBytes} bytes of files (limit maxBytes)`);
      }
    }
    return undefined;
  }

  #tooLarge(what: string): GpufleetError {
    return new GpufleetError('INPUT_TOO_LARGE', `archive ${this.#archivePath} holds ${what}`);
  }
}

/** Streams the archive into a parser; settles when the parser closes or fails. */
function feed(archivePath: string, sink: Parser): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const source = createReadStream(archivePath);
    const fail = (err: unknown): void => {
      source.destroy();
      reject(err);
    };
    sink.on('error', fail);
    sink.on('close', () => resolve());
    source.on('error', fail);
    source.on('data', (chunk: Buffer | string) => {
      if (!sink.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) {
        source.pause();
        sink.once('drain', () => source.resume());
      }
    });
    source.on('end', () => sink.end());
  });
}

/** Pass one: reads every entry, writes nothing, and throws the first refusal. */
async function inspect(archivePath: string, destDir: string, limits: ExtractLimits): Promise<ExtractResult> {
  const gate = new EntryGate(archivePath, destDir, limits);
  const parser = new Parser({ strict: true });
  let refusal: Error | undefined;
  const judge = (entry: ReadEntry): void => {
    const error = gate.admit(entry);
    if (error !== undefined && refusal === undefined) {
      refusal = error;
      parser.abort(error);
    }
    entry.resume();
  };
  parser.on('entry', judge);
  // Unknown entry types never reach 'entry'; they must be refused, not skipped.
  parser.on('ignoredEntry', (entry: ReadEntry) => (entry.meta ? entry.resume() : judge(entry)));
  try {
    await feed(archivePath, parser);
  } catch (err) {
    if (refusal !== undefined) throw refusal;
    const message = err instanceof Error ? err.message : String(err);
    throw new GpufleetError('INPUT_ARCHIVE_INVALID', `cannot read archive ${archivePath}: ${message}`, {
      cause: err,
    });
  }
  if (refusal !== undefined) throw refusal;
  for (const [path, entryPath] of gate.touches) await refuseExistingSymlink(destDir, path, entryPath);
  return gate.result;
}

/** Throws when `path` inside `destDir` is already a symlink, which `entryPath` would follow. */
async function refuseExistingSymlink(destDir: string, path: string, entryPath: string): Promise<void> {
  const stats = await lstat(join(destDir, path)).catch((err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  });
  if (stats?.isSymbolicLink() === true) {
    const reason = `goes through ${JSON.stringify(path)}, a symlink already in the extraction folder`;
    throw new PathEscapeError(entryPath, reason);
  }
}

/**
 * Pass two: extracts with node-tar (strict, no absolute paths, no owners) and re-applies the
 * entry check as a filter, aborting at the first refusal. Exported for tests only: on its own it
 * may write part of an archive before refusing it; callers use `extractArchive`.
 */
export async function unpackCheckedArchive(
  archivePath: string,
  destDir: string,
  limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS,
): Promise<ExtractResult> {
  const gate = new EntryGate(archivePath, destDir, limits);
  let refusal: Error | undefined;
  const unpack = extract({
    cwd: destDir,
    strict: true,
    preservePaths: false,
    preserveOwner: false,
    filter: (path, entry) => {
      const error =
        entry instanceof ReadEntry ? gate.admit(entry) : new PathEscapeError(path, 'not an archive entry');
      if (error === undefined) return true;
      refusal ??= error;
      unpack.abort(error);
      return false;
    },
  });
  try {
    await feed(archivePath, unpack);
  } catch (err) {
    if (refusal !== undefined) throw refusal;
    if ((err as { code?: unknown }).code === 'TAR_SYMLINK_ERROR') {
      const path = (err as { path?: unknown }).path;
      throw new PathEscapeError(String(path), 'node-tar refused to extract through a symlink');
    }
    throw err;
  }
  if (refusal !== undefined) throw refusal;
  return gate.result;
}

/**
 * Extracts `archivePath` (tar, or tar compressed with gzip) into `destDir`, creating it. Throws
 * PathEscapeError (naming the entry and why) before writing anything when an entry could land
 * outside `destDir`, GpufleetError `INPUT_TOO_LARGE` when a limit is passed, and GpufleetError
 * `INPUT_ARCHIVE_INVALID` when the file is not a readable archive.
 */
export async function extractArchive(
  archivePath: string,
  destDir: string,
  limits: Partial<ExtractLimits> = {},
): Promise<ExtractResult> {
  const bounds: ExtractLimits = { ...DEFAULT_EXTRACT_LIMITS, ...limits };
  await inspect(archivePath, destDir, bounds);
  await mkdir(destDir, { recursive: true });
  return unpackCheckedArchive(archivePath, destDir, bounds);
}
