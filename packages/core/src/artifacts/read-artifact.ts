/** Reads a whole (small) artifact into memory; for manifests, reports and tests, not big outputs. */
import type { ArtifactStore } from './artifact-store.js';

export async function readArtifact(store: ArtifactStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key))
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}
