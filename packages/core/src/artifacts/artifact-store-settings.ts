/**
 * The artifact store's settings, read at start-up with the rest of a process's configuration (the
 * tracker's and the API's loadConfig): ARTIFACT_STORE names the store (a folder path relative to
 * the working folder, a `file:///abs/path` URL or `s3://bucket/prefix`), ARTIFACT_FSYNC tunes a
 * folder store and the S3_* and AWS_* variables configure an S3 store (s3-config.ts). Every problem
 * goes to the caller's EnvReader, naming its variable, so it is reported with every other bad
 * variable at once; openArtifactStore then builds the store from these settings, reading nothing.
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvReader, type Env } from '../env-reader.js';
import { readS3StoreOptions, type S3StoreOptions } from './s3-config.js';

/** Where artifacts go when ARTIFACT_STORE is not set: a folder under the working directory. */
export const DEFAULT_ARTIFACT_STORE = './.gpufleet/artifacts';

/** A folder store: its absolute root, and whether every write is flushed to disk (ARTIFACT_FSYNC). */
export interface LocalStoreSettings {
  readonly kind: 'local';
  readonly root: string;
  readonly fsync: boolean;
}

/** An S3 store: the bucket and prefix of ARTIFACT_STORE and what the S3_* and AWS_* variables say. */
export interface S3StoreSettings {
  readonly kind: 's3';
  readonly options: Readonly<S3StoreOptions>;
}

export type ArtifactStoreSettings = LocalStoreSettings | S3StoreSettings;

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

/**
 * The settings of the store `spec` (the value of ARTIFACT_STORE) names, a folder path resolved
 * against `cwd`; each bad value (ARTIFACT_STORE, ARTIFACT_FSYNC, S3_*, AWS_*) is recorded on
 * `reader` for its `done()` to report. ARTIFACT_FSYNC is read for folder stores only, the S3_* and
 * AWS_* variables for S3 stores only.
 */
export function readArtifactStoreSettings(
  reader: EnvReader,
  spec: string,
  cwd: string,
): ArtifactStoreSettings {
  const local = (root: string): LocalStoreSettings =>
    Object.freeze({ kind: 'local', root, fsync: reader.bool('ARTIFACT_FSYNC', true) });
  const invalid = (reason: string): LocalStoreSettings => {
    reader.fail('ARTIFACT_STORE', reason);
    return Object.freeze({ kind: 'local', root: resolve(cwd, DEFAULT_ARTIFACT_STORE), fsync: true });
  };
  if (spec.trim() === '') return invalid('must be a folder path, a file:// URL or an s3:// URL, not empty');
  const scheme = SCHEME.exec(spec)?.[1]?.toLowerCase();
  if (scheme === undefined) return local(resolve(cwd, spec));
  if (scheme === 's3') return Object.freeze({ kind: 's3', options: readS3StoreOptions(reader, spec) });
  if (scheme !== 'file') {
    return invalid(
      `"${spec}" has the unsupported scheme "${scheme}:"; use a folder path (./store, /srv/store), ` +
        'file:///abs/path or s3://bucket/prefix',
    );
  }
  let path: string;
  try {
    const url = new URL(spec);
    if (url.search !== '' || url.hash !== '') throw new Error('a file URL takes no query or fragment');
    path = fileURLToPath(url);
  } catch (error) {
    return invalid(
      `"${spec}" is not a usable file:// URL (${error instanceof Error ? error.message : error})`,
    );
  }
  if (!isAbsolute(path)) return invalid(`"${spec}" must name an absolute path`);
  return local(path);
}

/**
 * readArtifactStoreSettings on its own, outside a loadConfig: the settings of `spec` and the
 * variables of `env`, or a ConfigError listing every bad one.
 */
export function artifactStoreSettingsFrom(spec: string, cwd: string, env: Env = {}): ArtifactStoreSettings {
  const reader = new EnvReader(env);
  const settings = readArtifactStoreSettings(reader, spec, cwd);
  reader.done();
  return settings;
}
