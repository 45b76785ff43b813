import type { Readable } from 'node:stream';

/** What the store knows of one stored object. */
export interface ArtifactInfo {
  /** The object's key, relative to the store's root: `tenant/task/attempt/path`. */
  key: string;
  size: number;
}

/** Result of a `put`: the object's size and the hex sha256 of its bytes, computed while writing. */
export interface PutResult {
  key: string;
  size: number;
  sha256: string;
}

/** A file's size and hex sha256, known before it is stored. */
export interface FileDigest {
  size: number;
  sha256: string;
}

/** Options of `download`. */
export interface DownloadOptions {
  /**
   * The hex sha256 the bytes must have (from the output manifest): on a mismatch the download
   * fails with InfraError ARTIFACT_CORRUPT and the destination is left as it was.
   */
  sha256?: string;
}

/**
 * Where inputs and outputs live. Keys are `/`-separated relative paths; a key that is empty,
 * absolute, or has `.`/`..`/empty segments or a backslash or NUL is refused with PathEscapeError.
 * Writes are atomic: a reader sees the whole old object, the whole new one, or none.
 */
export interface ArtifactStore {
  /** A URL-ish description for logs (`file:///abs/path`, `s3://bucket/prefix`). */
  readonly description: string;
  /** Stores the bytes of `source` under `key`, streaming (memory does not grow with size). */
  put(key: string, source: Readable | Buffer | string): Promise<PutResult>;
  /**
   * Stores the local file at `path` under `key`, like `put` of its bytes, except that the backend
   * may take the file over (the folder store moves it into place when it is on the same file
   * system, instead of copying it): the caller must not use `path` afterwards. `known` is the
   * file's size and sha256 when the caller has them already (the tracker hashes logs while they
   * are written), which saves reading the file again. Optional: see `storeFile`.
   */
  putFile?(key: string, path: string, known?: FileDigest): Promise<PutResult>;
  /** Opens the object for reading; `range` is inclusive of `start` and `end`. NotFoundError if absent. */
  get(key: string, range?: { start: number; end?: number }): Promise<Readable>;
  /** Size of the object, or null if there is none. */
  stat(key: string): Promise<ArtifactInfo | null>;
  /** Every object whose key starts with `prefix` + `/` (or equals it), in key order. */
  list(prefix: string): AsyncIterable<ArtifactInfo>;
  /** Removes every object under `prefix`; absent is fine. */
  deletePrefix(prefix: string): Promise<void>;
  /**
   * A URL that lets anyone holding it GET the object until it expires, for backends that can
   * make one (S3); absent on backends that cannot (the local folder), where the API streams.
   */
  presignedGetUrl?(key: string, expiresInMs: number): Promise<string>;
  /**
   * Copies the object to a local file path (atomic on the destination). The bytes are checked
   * against `options.sha256` and against any digest the backend stored with the object (S3's
   * `x-amz-meta-sha256`); a mismatch is InfraError ARTIFACT_CORRUPT. NotFoundError if absent.
   */
  download(key: string, destination: string, options?: DownloadOptions): Promise<void>;
  close(): Promise<void>;
}
