/**
 * Removes everything stored under a key in S3: the object of that key, every object under
 * `key/` (DeleteObjects, one listing page at a time) and every multipart upload left there.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '../logger.js';
import { errorCodeOf } from './s3-errors.js';
import { listPages } from './s3-list-pages.js';

export interface DeleteTarget {
  readonly client: S3Client;
  readonly bucket: string;
  /** Raw S3 key: `<store prefix>/<artifact prefix>`. */
  readonly objectKey: string;
  /** Keys per listing page, so per DeleteObjects request (S3 takes at most 1000). */
  readonly pageSize: number;
  readonly logger: Logger;
}

/** Deletes `objectKey`, all of `objectKey/...`, and aborts their multipart uploads. Throws S3 errors. */
export async function deleteUnder(target: DeleteTarget): Promise<void> {
  await deleteObjects(target, [target.objectKey]);
  for await (const page of listPages(target.client, target.bucket, `${target.objectKey}/`, target.pageSize)) {
    await deleteObjects(
      target,
      page.flatMap((object) => object.Key ?? []),
    );
  }
  await abortUploads(target);
}

async function deleteObjects({ client, bucket }: DeleteTarget, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  const input = { Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } };
  const { Errors = [] } = await client.send(new DeleteObjectsCommand(input));
  const [first] = Errors;
  if (first) {
    throw new Error(`${Errors.length} object(s) not deleted, ${first.Key}: ${first.Code} ${first.Message}`);
  }
}

/**
 * Aborts every multipart upload of `objectKey` or under `objectKey/`. A server that cannot list
 * multipart uploads (NotImplemented) has none to abort as far as we can tell.
 */
async function abortUploads({ client, bucket, objectKey, logger }: DeleteTarget): Promise<void> {
  let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
  for (;;) {
    const input = { Bucket: bucket, Prefix: objectKey, ...markers };
    const page = await client.send(new ListMultipartUploadsCommand(input)).catch((error: unknown) => {
      if (errorCodeOf(error) !== 'NotImplemented') throw error;
      logger.debug({ bucket }, 'the S3 server cannot list multipart uploads; none aborted');
      return null;
    });
    if (page === null) return;
    for (const { Key, UploadId } of page.Uploads ?? []) {
      if (Key === undefined || UploadId === undefined) continue;
      if (Key !== objectKey && !Key.startsWith(`${objectKey}/`)) continue;
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId }))
        .catch((error: unknown) => {
          if (errorCodeOf(error) !== 'NoSuchUpload') throw error;
        });
    }
    if (!page.IsTruncated) return;
    markers = { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker };
  }
}
