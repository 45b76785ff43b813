/**
 * Artifacts as objects in an S3 bucket (AWS S3, MinIO, Cloudflare R2 and the like): key `a/b` is
 * object `<prefix>/a/b`. Keys are checked (checkArtifactKey) before they are joined to the prefix,
 * so no key names an object outside it. Puts stream (s3-upload.ts); PutObject and
 * CompleteMultipartUpload are atomic in S3, so readers see whole objects.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { InfraError, NotFoundError, ValidationError } from '../errors.js';
import { silentLogger } from '../logger.js';
import type { Logger } from '../logger.js';
import type { ByteRange } from './artifact-checks.js';
import { checkRange, checkSha256Option, tempPathFor, verifySha256 } from './artifact-checks.js';
import { checkArtifactKey, isArtifactKey } from './artifact-key.js';
import type { ArtifactInfo, ArtifactStore, DownloadOptions, PutResult } from './artifact-store.js';
import type { ByteSource } from './byte-source.js';
import { deleteUnder } from './s3-delete-prefix.js';
import { describeS3Error, errorCodeOf, isMissingObject } from './s3-errors.js';
import { listPages } from './s3-list-pages.js';
import { SHA256_METADATA, uploadObject } from './s3-upload.js';

/** Defaults of S3ArtifactStoreOptions. */
export const S3_STORE_DEFAULTS = {
  region: 'us-east-1',
  /** Size of each part of a multipart upload; a body up to this size goes in one PutObject. */
  partSizeBytes: 8 * 1024 * 1024,
  /** Parts uploaded at once; a put holds about (queueSize + 2) × partSizeBytes in memory. */
  queueSize: 4,
  /** Tries of each request, by the SDK's standard retry (exponential backoff with jitter). */
  maxAttempts: 4,
  /** How long a failed put keeps trying to abort its multipart upload. */
  abortRetryMs: 30_000,
  /** Keys asked for per ListObjectsV2 request (S3 gives at most 1000). */
  listPageSize: 1000,
  connectionTimeoutMs: 10_000,
  /** A request whose socket is idle this long fails (and is retried). */
  socketTimeoutMs: 60_000,
} as const;

/** The least part size S3 accepts (every part but the last). */
export const MIN_PART_SIZE_BYTES = 5 * 1024 * 1024;

export interface S3ArtifactStoreOptions {
  bucket: string;
  /** Object key prefix, a valid artifact key or '' (the whole bucket). Default ''. */
  prefix?: string;
  region?: string;
  /** `https://host[:port]` for MinIO, R2 and others; AWS's endpoint when absent. */
  endpoint?: string;
  /** `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key` (MinIO, s3rver). */
  forcePathStyle?: boolean;
  /** Fixed credentials; the AWS SDK's default chain (env, profile, SSO, IMDS...) when absent. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  partSizeBytes?: number;
  queueSize?: number;
  maxAttempts?: number;
  abortRetryMs?: number;
  listPageSize?: number;
  connectionTimeoutMs?: number;
  socketTimeoutMs?: number;
  logger?: Logger;
}

const MAX_PRESIGN_MS = 7 * 24 * 3600 * 1000;

export class S3ArtifactStore implements ArtifactStore {
  readonly description: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly #client: S3Client;
  readonly #options: Required<Omit<S3ArtifactStoreOptions, 'credentials' | 'endpoint'>>;

  constructor(options: S3ArtifactStoreOptions) {
    const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
    const defaults = { ...S3_STORE_DEFAULTS, prefix: '', forcePathStyle: false, logger: silentLogger() };
    const settings = { ...defaults, ...(given as Partial<S3ArtifactStoreOptions>), bucket: options.bucket };
    if (settings.prefix !== '') checkArtifactKey(settings.prefix);
    if (settings.partSizeBytes < MIN_PART_SIZE_BYTES) {
      throw new ValidationError('invalid S3 store options', [
        { field: 'partSizeBytes', reason: `must be at least ${MIN_PART_SIZE_BYTES} (S3's least part size)` },
      ]);
    }
    this.#options = settings;
    this.bucket = settings.bucket;
    this.prefix = settings.prefix;
    this.description = `s3://${this.bucket}${this.prefix === '' ? '' : `/${this.prefix}`}`;
    this.#client = new S3Client({
      region: settings.region,
      endpoint: options.endpoint,
      forcePathStyle: settings.forcePathStyle,
      credentials: options.credentials,
      maxAttempts: settings.maxAttempts,
      // Since v3.729 (January 2025) the SDK adds a CRC32 checksum to every upload (streams go
      // aws-chunked with a trailing checksum) and asks for checksums on every download. Servers
      // that predate it break: s3rver stores the chunk framing as the object's bytes, R2 answered
      // 501 NotImplemented at first (aws/aws-sdk-js-v3#6810), and a presigned GET would carry
      // x-amz-checksum-mode. So checksums only where an operation requires them (DeleteObjects);
      // the bytes are checked end to end by our own sha256 instead.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: settings.connectionTimeoutMs,
        socketTimeout: settings.socketTimeoutMs,
      },
    });
  }

  async put(key: string, source: ByteSource): Promise<PutResult> {
    const objectKey = this.#objectKey(key);
    const { size, sha256 } = await uploadObject(
      { ...this.#options, client: this.#client, objectKey, what: this.#what(key) },
      source,
    );
    return { key, size, sha256 };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    if (range) checkRange(range);
    const objectKey = this.#objectKey(key);
    try {
      const Range = range ? `bytes=${range.start}-${range.end ?? ''}` : undefined;
      return bodyOf(
        await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey, Range })),
      );
    } catch (error) {
      if (errorCodeOf(error) === 'InvalidRange') return Readable.from([]); // starts past the end
      throw this.#readError(key, error, 'ARTIFACT_READ_FAILED', 'read');
    }
  }

  async stat(key: string): Promise<ArtifactInfo | null> {
    const objectKey = this.#objectKey(key);
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      return { key, size: head.ContentLength ?? 0 };
    } catch (error) {
      if (isMissingObject(error)) return null;
      throw this.#readError(key, error, 'ARTIFACT_READ_FAILED', 'stat');
    }
  }

  async *list(prefix: string): AsyncIterable<ArtifactInfo> {
    if (prefix !== '') {
      const exact = await this.stat(prefix); // sorts before every `prefix/...` key
      if (exact) yield exact;
    }
    const base = prefix === '' ? this.#rootPrefix() : `${this.#objectKey(prefix)}/`;
    const strip = this.#rootPrefix().length;
    for await (const page of listPages(this.#client, this.bucket, base, this.#options.listPageSize)) {
      for (const object of page) {
        const key = object.Key?.slice(strip);
        if (key !== undefined && isArtifactKey(key)) yield { key, size: object.Size ?? 0 };
      }
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    const objectKey = this.#objectKey(prefix);
    const { logger, listPageSize: pageSize } = this.#options;
    try {
      await deleteUnder({ client: this.#client, bucket: this.bucket, objectKey, pageSize, logger });
    } catch (error) {
      const message = `could not delete "${prefix}" in ${this.description}: ${describeS3Error(error)}`;
      throw new InfraError('ARTIFACT_DELETE_FAILED', message, error);
    }
  }

  async presignedGetUrl(key: string, expiresInMs: number): Promise<string> {
    const objectKey = this.#objectKey(key);
    if (!Number.isFinite(expiresInMs) || expiresInMs < 1000 || expiresInMs > MAX_PRESIGN_MS) {
      throw new ValidationError('invalid presigned URL expiry', [
        { field: 'expiresInMs', reason: `must be between 1000 (1 s) and ${MAX_PRESIGN_MS} (7 days)` },
      ]);
    }
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: objectKey });
    try {
      return await getSignedUrl(this.#client, command, { expiresIn: Math.ceil(expiresInMs / 1000) });
    } catch (error) {
      throw this.#readError(key, error, 'ARTIFACT_READ_FAILED', 'sign a URL for');
    }
  }

  async download(key: string, destination: string, options: DownloadOptions = {}): Promise<void> {
    checkSha256Option(options.sha256);
    const objectKey = this.#objectKey(key);
    let response: GetObjectCommandOutput;
    try {
      response = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
    } catch (error) {
      throw this.#readError(key, error, 'ARTIFACT_DOWNLOAD_FAILED', 'download');
    }
    const target = resolve(destination);
    const temp = tempPathFor(target);
    const hash = createHash('sha256');
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done): void {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await mkdir(dirname(target), { recursive: true });
      await pipeline(bodyOf(response), tap, createWriteStream(temp, { flags: 'wx' }));
      const actual = hash.digest('hex');
      verifySha256(key, actual, response.Metadata?.[SHA256_METADATA], 'its x-amz-meta-sha256');
      verifySha256(key, actual, options.sha256, 'the manifest');
      const handle = await open(temp, 'r+');
      await handle.sync().finally(() => handle.close());
      await rename(temp, target);
    } catch (error) {
      (response.Body as Readable | undefined)?.destroy?.();
      await rm(temp, { force: true }).catch(() => undefined);
      if (error instanceof InfraError) throw error;
      const message = `could not download ${this.#what(key)} to ${target}: ${describeS3Error(error)}`;
      throw new InfraError('ARTIFACT_DOWNLOAD_FAILED', message, error);
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  /** `<prefix>/<key>` for a checked key. */
  #objectKey(key: string): string {
    return this.#rootPrefix() + checkArtifactKey(key);
  }

  #rootPrefix(): string {
    return this.prefix === '' ? '' : `${this.prefix}/`;
  }

  #what(key: string): string {
    return `artifact "${key}" in ${this.description}`;
  }

  /** NotFoundError for a missing object, else InfraError `code` with the cause. */
  #readError(key: string, error: unknown, code: string, verb: string): Error {
    if (isMissingObject(error)) return new NotFoundError(this.#what(key));
    return new InfraError(code, `could not ${verb} ${this.#what(key)}: ${describeS3Error(error)}`, error);
  }
}

function bodyOf(response: GetObjectCommandOutput): Readable {
  if (response.Body instanceof Readable) return response.Body;
  throw new InfraError('ARTIFACT_READ_FAILED', 'the S3 client returned a body that is not a Node stream');
}
