/**
 * The S3 store an `ARTIFACT_STORE=s3://bucket/prefix` value and the S3_* variables describe:
 * S3_ENDPOINT (for MinIO, R2...), S3_REGION (default us-east-1), S3_FORCE_PATH_STYLE (default
 * false), S3_PART_SIZE_MB (default 8, at least 5), and AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 * (+ AWS_SESSION_TOKEN) when given; without them the AWS SDK's default credential chain is used
 * (its env provider, profiles, SSO, web identity, ECS/EC2 metadata). Read at start-up with the
 * rest of the configuration (artifact-store-settings.ts).
 */
import { EnvReader } from '../env-reader.js';
import type { Env } from '../env-reader.js';
import { PathEscapeError } from '../errors.js';
import { checkArtifactKey } from './artifact-key.js';
import type { S3ArtifactStoreOptions } from './s3-store.js';
import { S3_STORE_DEFAULTS } from './s3-store.js';

/** What the variables say of an S3 store: its options, less the logger it is given when opened. */
export type S3StoreOptions = Omit<S3ArtifactStoreOptions, 'logger'>;

const S3_URL = /^s3:\/\/([^/?#]*)(?:\/([^?#]*))?$/i;
/** S3's rules for new buckets (R2 and MinIO keep to them too). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z0-9-]+$/;
const MiB = 1024 * 1024;

/** Reads the S3 store's options; ConfigError listing every bad variable (ARTIFACT_STORE, S3_*, AWS_*). */
export function s3StoreOptionsFrom(spec: string, env: Env): S3ArtifactStoreOptions {
  const reader = new EnvReader(env);
  const options = readS3StoreOptions(reader, spec);
  reader.done();
  return options;
}

/** The S3 store's options; each bad variable (ARTIFACT_STORE, S3_*, AWS_*) is recorded on `reader`. */
export function readS3StoreOptions(reader: EnvReader, spec: string): S3StoreOptions {
  const location = parseS3Url(spec, reader);
  const endpoint = reader.string('S3_ENDPOINT', undefined, endpointProblem);
  const region = reader.string('S3_REGION', S3_STORE_DEFAULTS.region, (value) =>
    REGION.test(value) ? null : 'must be a region name such as us-east-1 (R2: auto)',
  );
  const forcePathStyle = reader.bool('S3_FORCE_PATH_STYLE', false);
  const defaultPartMb = S3_STORE_DEFAULTS.partSizeBytes / MiB;
  const partSizeMb = reader.int('S3_PART_SIZE_MB', defaultPartMb, { min: 5, max: 5120 });
  const accessKeyId = reader.raw('AWS_ACCESS_KEY_ID');
  const secretAccessKey = reader.raw('AWS_SECRET_ACCESS_KEY');
  const sessionToken = reader.raw('AWS_SESSION_TOKEN');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    const missing = accessKeyId === undefined ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY';
    const given = accessKeyId === undefined ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID';
    reader.fail(missing, `must be set when ${given} is`);
  }
  const credentials =
    accessKeyId !== undefined && secretAccessKey !== undefined
      ? { accessKeyId, secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) }
      : undefined;
  return {
    ...location,
    region,
    forcePathStyle,
    partSizeBytes: partSizeMb * MiB,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(credentials === undefined ? {} : { credentials }),
  };
}

function parseS3Url(spec: string, reader: EnvReader): { bucket: string; prefix: string } {
  const match = S3_URL.exec(spec.trim());
  const bucket = match?.[1] ?? '';
  const prefix = (match?.[2] ?? '').replace(/\/$/, '');
  if (!match) {
    reader.fail(
      'ARTIFACT_STORE',
      `"${spec}" is not s3://bucket or s3://bucket/prefix (no query or fragment)`,
    );
  } else if (!BUCKET.test(bucket)) {
    const reason = '3 to 63 lower-case letters, digits, dots and hyphens';
    reader.fail('ARTIFACT_STORE', `"${bucket}" in "${spec}" is not a bucket name (${reason})`);
  }
  if (prefix !== '') {
    try {
      checkArtifactKey(prefix);
    } catch (error) {
      if (!(error instanceof PathEscapeError)) throw error;
      reader.fail('ARTIFACT_STORE', `the prefix of "${spec}" is not usable: ${error.message}`);
    }
  }
  return { bucket, prefix };
}

function endpointProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL such as https://s3.example.com or http://127.0.0.1:9000';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must start with http:// or https://';
  if (url.search !== '' || url.hash !== '' || url.username !== '') {
    return 'must be a plain http(s)://host[:port][/path] URL';
  }
  return null;
}
