// The artifact store's settings are part of the tracker's configuration: loadTrackerConfig reads
// ARTIFACT_STORE, ARTIFACT_FSYNC and the S3_* and AWS_* variables, reports a bad one together with
// every other bad variable, and the store is opened from the settings it returns, whatever
// process.env says.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, LocalArtifactStore, openArtifactStore, S3ArtifactStore } from '@gpufleet/core';
import { loadTrackerConfig } from '@gpufleet/tracker';

const BASE = { GPUFLEET_EXECUTERS: '.' };

function issuesOf(env: Record<string, string>): Array<{ field: string; reason: string }> {
  try {
    loadTrackerConfig({ ...BASE, ...env }, '/srv');
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

afterEach(() => vi.unstubAllEnvs());

describe('loadTrackerConfig and the artifact store', () => {
  it('reports a bad S3 variable together with the other bad variables, each by name', () => {
    const issues = issuesOf({
      ARTIFACT_STORE: 's3://fleet-artifacts/prod',
      S3_PART_SIZE_MB: '4',
      S3_ENDPOINT: 'ftp://storage',
      GPUFLEET_LEASE_MS: '10',
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        { field: 'S3_PART_SIZE_MB', reason: 'must be at least 5 (got 4)' },
        { field: 'S3_ENDPOINT', reason: expect.stringMatching(/must start with http:\/\/ or https:\/\//) },
        { field: 'GPUFLEET_LEASE_MS', reason: 'must be at least 1000 (got 10)' },
      ]),
    );
    expect(issues).toHaveLength(3);
  });

  it('reports a bad ARTIFACT_FSYNC and a bad ARTIFACT_STORE with the other bad variables', () => {
    const fsync = issuesOf({ ARTIFACT_FSYNC: 'sometimes', LOG_LEVEL: 'loud' });
    expect(fsync.map((i) => i.field).sort()).toEqual(['ARTIFACT_FSYNC', 'LOG_LEVEL']);
    expect(fsync.find((i) => i.field === 'ARTIFACT_FSYNC')?.reason).toBe(
      'must be true or false (got "sometimes")',
    );
    const store = issuesOf({ ARTIFACT_STORE: 'ftp://x', GPUFLEET_GPUS: 'zero' });
    expect(store.map((i) => i.field).sort()).toEqual(['ARTIFACT_STORE', 'GPUFLEET_GPUS']);
    expect(store.find((i) => i.field === 'ARTIFACT_STORE')?.reason).toMatch(/unsupported scheme "ftp:"/);
  });

  it('returns the store settings: a folder resolved against cwd with ARTIFACT_FSYNC, or S3 options', () => {
    expect(loadTrackerConfig(BASE, '/srv').artifactStoreSettings).toEqual({
      kind: 'local',
      root: '/srv/.gpufleet/artifacts',
      fsync: true,
    });
    const local = loadTrackerConfig({ ...BASE, ARTIFACT_STORE: 'store', ARTIFACT_FSYNC: 'false' }, '/srv');
    expect(local.artifactStore).toBe('store');
    expect(local.artifactStoreSettings).toEqual({ kind: 'local', root: '/srv/store', fsync: false });
    const s3 = loadTrackerConfig({
      ...BASE,
      ARTIFACT_STORE: 's3://fleet-artifacts/prod/',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
    });
    expect(s3.artifactStoreSettings).toEqual({
      kind: 's3',
      options: {
        bucket: 'fleet-artifacts',
        prefix: 'prod',
        endpoint: 'http://127.0.0.1:9000',
        region: 'us-east-1',
        forcePathStyle: true,
        partSizeBytes: 8 * 1024 * 1024,
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      },
    });
  });

  it('opens the store from the configuration, reading nothing from process.env', async () => {
    const config = loadTrackerConfig({ ...BASE, ARTIFACT_STORE: 's3://bucket/team', S3_REGION: 'auto' });
    const local = loadTrackerConfig({ ...BASE, ARTIFACT_STORE: '/srv/artifacts' });
    // Values that the store would refuse, were it to read them from the environment.
    vi.stubEnv('ARTIFACT_STORE', 'ftp://elsewhere');
    vi.stubEnv('ARTIFACT_FSYNC', 'sometimes');
    vi.stubEnv('S3_PART_SIZE_MB', 'x');
    vi.stubEnv('S3_REGION', 'Not A Region');
    const s3Store = openArtifactStore(config.artifactStoreSettings);
    expect(s3Store).toBeInstanceOf(S3ArtifactStore);
    expect(s3Store.description).toBe('s3://bucket/team');
    await s3Store.close();
    const localStore = openArtifactStore(local.artifactStoreSettings);
    expect(localStore).toBeInstanceOf(LocalArtifactStore);
    expect(localStore.description).toBe('file:///srv/artifacts');
    await localStore.close();
  });
});
