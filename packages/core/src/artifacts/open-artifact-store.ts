/**
 * Opens the artifact store that its settings describe. The settings are read with the rest of the
 * configuration at start-up (readArtifactStoreSettings in the tracker's and the API's loadConfig);
 * opening reads no environment variable.
 */
import type { Logger } from '../logger.js';
import type { ArtifactStore } from './artifact-store.js';
import type { ArtifactStoreSettings } from './artifact-store-settings.js';
import { LocalArtifactStore } from './local-store.js';
import { S3ArtifactStore } from './s3-store.js';

/**
 * A LocalArtifactStore on the settings' folder (flushing writes to disk unless `fsync` is false),
 * or an S3ArtifactStore with the settings' options that logs to `logger`.
 */
export function openArtifactStore(settings: ArtifactStoreSettings, logger?: Logger): ArtifactStore {
  if (settings.kind === 's3') return new S3ArtifactStore({ ...settings.options, logger });
  return new LocalArtifactStore(settings.root, { fsync: settings.fsync });
}
