import { describe, expect, it } from 'vitest';
import { artifactStoreSettingsFrom } from '../src/artifacts/artifact-store-settings.js';
import { openArtifactStore } from '../src/artifacts/open-artifact-store.js';
import { s3StoreOptionsFrom } from '../src/artifacts/s3-config.js';
import { S3ArtifactStore } from '../src/artifacts/s3-store.js';
import { ConfigError } from '../src/errors.js';

const MiB = 1024 * 1024;

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('s3StoreOptionsFrom', () => {
  it('reads the bucket and prefix from the URL and the rest from S3_* and AWS_* variables', () => {
    const env = {
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_REGION: 'eu-west-3',
      S3_FORCE_PATH_STYLE: 'true',
      S3_PART_SIZE_MB: '16',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'token',
    };
    expect(s3StoreOptionsFrom('s3://fleet-artifacts/prod/gpufleet/', env)).toEqual({
      bucket: 'fleet-artifacts',
      prefix: 'prod/gpufleet',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-3',
      forcePathStyle: true,
      partSizeBytes: 16 * MiB,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' },
    });
  });

  it('defaults to us-east-1, virtual-host addressing, 8 MiB parts and the default credential chain', () => {
    expect(s3StoreOptionsFrom('s3://bucket', {})).toEqual({
      bucket: 'bucket',
      prefix: '',
      region: 'us-east-1',
      forcePathStyle: false,
      partSizeBytes: 8 * MiB,
    });
  });

  it('reports every bad variable at once, each by name', () => {
    const env = {
      S3_ENDPOINT: 'ftp://storage',
      S3_REGION: 'EU West',
      S3_FORCE_PATH_STYLE: 'maybe',
      S3_PART_SIZE_MB: '4',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    };
    const error = configError(() => s3StoreOptionsFrom('s3://Not_A_Bucket/p', env));
    expect(error.issues.map((issue) => issue.field)).toEqual([
      'ARTIFACT_STORE',
      'S3_ENDPOINT',
      'S3_REGION',
      'S3_FORCE_PATH_STYLE',
      'S3_PART_SIZE_MB',
      'AWS_SECRET_ACCESS_KEY',
    ]);
    expect(error.issues[5]?.reason).toBe('must be set when AWS_ACCESS_KEY_ID is');
  });

  it.each([
    ['s3://', /is not a bucket name/],
    ['s3://bucket?versioning', /no query or fragment/],
    ['s3://bucket/a//b', /prefix .* is not usable: .*empty segment/],
    ['s3://bucket/../etc', /prefix .* is not usable: .*"\.\." segment/],
  ])('refuses ARTIFACT_STORE=%s', (spec, reason) => {
    expect(configError(() => s3StoreOptionsFrom(spec, {})).issues).toEqual([
      { field: 'ARTIFACT_STORE', reason: expect.stringMatching(reason) },
    ]);
  });

  it('is how the settings of s3:// URLs are read, from the env it is given, for openArtifactStore', async () => {
    const store = openArtifactStore(
      artifactStoreSettingsFrom('s3://bucket/team', '/unused', { S3_REGION: 'auto' }),
    );
    expect(store).toBeInstanceOf(S3ArtifactStore);
    expect(store.description).toBe('s3://bucket/team');
    await store.close();
    expect(
      configError(() => artifactStoreSettingsFrom('s3://bucket', '/unused', { S3_PART_SIZE_MB: 'x' })).issues,
    ).toEqual([{ field: 'S3_PART_SIZE_MB', reason: 'must be an integer (got "x")' }]);
  });
});
