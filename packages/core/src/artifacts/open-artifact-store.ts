import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Env } from '../env-reader.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ArtifactStore } from './artifact-store.js';
import { LocalArtifactStore } from './local-store.js';
import { s3StoreOptionsFrom } from './s3-config.js';
import { S3ArtifactStore } from './s3-store.js';

/** Where artifacts go when ARTIFACT_STORE is not set: a folder under the working directory. */
export const DEFAULT_ARTIFACT_STORE = './.gpufleet/artifacts';

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

const invalid = (reason: string): ConfigError => new ConfigError([{ field: 'ARTIFACT_STORE', reason }]);

/**
 * The artifact store an `ARTIFACT_STORE` value names: a folder path (relative to `cwd`) or a
 * `file:///abs/path` URL opens a LocalArtifactStore (ARTIFACT_FSYNC=false: no disk flushes); `s3://bucket/prefix` opens an S3ArtifactStore
 * configured by the S3_* and AWS_* variables of `env` (see s3-config.ts), which logs to `logger`.
 * Anything else is a ConfigError naming the variable at fault.
 */
export function openArtifactStore(
  spec: string,
  cwd: string = process.cwd(),
  env: Env = process.env,
  logger?: Logger,
): ArtifactStore {
  if (spec.trim() === '') throw invalid('must be a folder path, a file:// URL or an s3:// URL, not empty');
  const scheme = SCHEME.exec(spec)?.[1]?.toLowerCase();
  const local = (path: string): LocalArtifactStore =>
    new LocalArtifactStore(path, { fsync: fsyncSetting(env) });
  if (scheme === undefined) return local(resolve(cwd, spec));
  if (scheme === 's3') return new S3ArtifactStore({ ...s3StoreOptionsFrom(spec, env), logger });
  if (scheme !== 'file') {
    throw invalid(
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
    throw invalid(
      `"${spec}" is not a usable file:// URL (${error instanceof Error ? error.message : error})`,
    );
  }
  if (!isAbsolute(path)) throw invalid(`"${spec}" must name an absolute path`);
  return local(path);
}

/** ARTIFACT_FSYNC (folder stores): `true` (default) flushes every write to disk; `false` does not. */
function fsyncSetting(env: Env): boolean {
  const raw = env.ARTIFACT_FSYNC?.trim().toLowerCase();
  if (raw === undefined || raw === '' || ['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError([
    { field: 'ARTIFACT_FSYNC', reason: `must be true or false (got ${JSON.stringify(raw)})` },
  ]);
}
