/**
 * A streaming put to S3. Bodies that end within one part go in a single PutObject carrying their
 * sha256 as `x-amz-meta-sha256`; longer ones go through lib-storage's multipart Upload, at most
 * `queueSize` parts in flight, each part retried by the SDK. Their sha256 is known only after the
 * last byte, when S3 can no longer take metadata without copying the object, so it is returned
 * (for the manifest) but not stored on the object. A failed multipart upload is aborted, retried
 * with backoff for `abortRetryMs`, so that no parts are left behind (and billed).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { AbortMultipartUploadCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { InfraError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ByteSource } from './byte-source.js';
import { chunksOf, streamOf } from './byte-source.js';
import { describeS3Error, errorCodeOf } from './s3-errors.js';
import { withStoreRetry } from './with-store-retry.js';

export interface UploadTarget {
  readonly client: S3Client;
  readonly bucket: string;
  readonly objectKey: string;
  /** For messages: `artifact "k" to s3://bucket/prefix`. */
  readonly what: string;
  readonly partSizeBytes: number;
  readonly queueSize: number;
  readonly abortRetryMs: number;
  readonly logger: Logger;
}

/** The metadata key (`x-amz-meta-sha256` on the wire) that holds an object's hex sha256. */
export const SHA256_METADATA = 'sha256';

const ignore = (): void => undefined;

/** Uploads `source`; the size and hex sha256 of the bytes sent. InfraError ARTIFACT_WRITE_FAILED. */
export async function uploadObject(
  target: UploadTarget,
  source: ByteSource,
): Promise<{ size: number; sha256: string }> {
  const stream = streamOf(source);
  stream?.on('error', ignore); // an error before reading starts comes out of the read loop
  const chunks = chunksOf(source);
  const hash = createHash('sha256');
  let size = 0;
  let upload: Upload | undefined;
  try {
    // Read until the body is longer than a part: one that ends first goes in a single PutObject.
    const head: Buffer[] = [];
    for (let next = await chunks.next(); ; next = await chunks.next()) {
      if (next.done) return await putWhole(target, Buffer.concat(head), hash.digest('hex'));
      hash.update(next.value);
      size += next.value.length;
      head.push(next.value);
      if (size > target.partSizeBytes) break;
    }
    async function* body(): AsyncGenerator<Buffer> {
      yield* head.splice(0);
      for await (const chunk of chunks) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    }
    upload = new Upload({
      client: target.client,
      params: {
        Bucket: target.bucket,
        Key: target.objectKey,
        Body: Readable.from(body(), { highWaterMark: 1 }),
      },
      partSize: target.partSizeBytes,
      queueSize: target.queueSize,
      // lib-storage's own abort is one request whose failure replaces the upload's error; ours
      // below is retried and keeps the upload's error as the cause.
      leavePartsOnError: true,
    });
    await upload.done();
    return { size, sha256: hash.digest('hex') };
  } catch (error) {
    stream?.destroy();
    void chunks.return(undefined).catch(ignore);
    const uploadId = upload?.uploadId;
    const aborted = uploadId === undefined || (await abortUpload(target, uploadId));
    const left = aborted
      ? ''
      : `; its multipart upload ${uploadId} could not be aborted (deletePrefix, or a bucket lifecycle ` +
        'rule that aborts incomplete multipart uploads, removes it)';
    throw new InfraError(
      'ARTIFACT_WRITE_FAILED',
      `could not write ${target.what}: ${describeS3Error(error)}${left}`,
      error,
    );
  } finally {
    stream?.off('error', ignore);
  }
}

async function putWhole(
  target: UploadTarget,
  body: Buffer,
  sha256: string,
): Promise<{ size: number; sha256: string }> {
  await target.client.send(
    new PutObjectCommand({
      Bucket: target.bucket,
      Key: target.objectKey,
      Body: body,
      ContentLength: body.length,
      Metadata: { [SHA256_METADATA]: sha256 },
    }),
  );
  return { size: body.length, sha256 };
}

/** Aborts a multipart upload, retrying transient failures for `abortRetryMs`; whether it is gone. */
async function abortUpload(target: UploadTarget, uploadId: string): Promise<boolean> {
  const command = new AbortMultipartUploadCommand({
    Bucket: target.bucket,
    Key: target.objectKey,
    UploadId: uploadId,
  });
  const abort = (): Promise<boolean> =>
    target.client.send(command).then(
      () => true,
      (error: unknown) => (errorCodeOf(error) === 'NoSuchUpload' ? true : Promise.reject(error)),
    );
  const what = `abort of multipart upload ${uploadId} of ${target.what}`;
  const options = { limitMs: target.abortRetryMs, baseMs: 200, maxMs: 5_000, logger: target.logger, what };
  return withStoreRetry(abort, options).catch(() => false);
}
