import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';
import type { ArtifactStore } from './artifact-store.js';
import { LocalArtifactStore } from './local-store.js';

/** Where artifacts go when ARTIFACT_STORE is not set: a folder under the working directory. */
export const DEFAULT_ARTIFACT_STORE = './.gpufleet/artifacts';

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

const invalid = (reason: string): ConfigError => new ConfigError([{ field: 'ARTIFACT_STORE', reason }]);

/**
 * The artifact store an `ARTIFACT_STORE` value names: a folder path (relative to `cwd`) or a
 * `file:///abs/path` URL opens a LocalArtifactStore; `s3://bucket/prefix` is not available yet.
 * Anything else is a ConfigError naming ARTIFACT_STORE.
 */
export function openArtifactStore(spec: string, cwd: string = process.cwd()): ArtifactStore {
  if (spec.trim() === '') throw invalid('must be a folder path, a file:// URL or an s3:// URL, not empty');
  const scheme = SCHEME.exec(spec)?.[1]?.toLowerCase();
  if (scheme === undefined) return new LocalArtifactStore(resolve(cwd, spec));
  if (scheme === 's3') throw invalid('the S3 backend is not available yet');
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
  return new LocalArtifactStore(path);
}
