/** Stores a local file through the store's `putFile` where it has one, else by streaming its bytes. */
import { createReadStream } from 'node:fs';
import type { ArtifactStore, FileDigest, PutResult } from './artifact-store.js';

export function storeFile(
  store: ArtifactStore,
  key: string,
  path: string,
  known?: FileDigest,
): Promise<PutResult> {
  return store.putFile ? store.putFile(key, path, known) : store.put(key, createReadStream(path));
}
