/** ListObjectsV2, one page at a time, following continuation tokens. */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { S3Client, _Object } from '@aws-sdk/client-s3';
import { InfraError } from '../errors.js';
import { describeS3Error } from './s3-errors.js';

/** The objects whose raw keys start with `prefix`, page by page, in key order (as S3 lists them). */
export async function* listPages(
  client: S3Client,
  bucket: string,
  prefix: string,
  pageSize: number,
): AsyncGenerator<_Object[]> {
  let token: string | undefined;
  do {
    const input = { Bucket: bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: pageSize };
    let page;
    try {
      page = await client.send(new ListObjectsV2Command(input));
    } catch (error) {
      const message = `could not list "${prefix}" in s3://${bucket}: ${describeS3Error(error)}`;
      throw new InfraError('ARTIFACT_LIST_FAILED', message, error);
    }
    yield page.Contents ?? [];
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}
