/** Checks shared by the artifact store backends: read ranges, sha256 digests, temp file names. */
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import type { FieldIssue } from '../errors.js';
import { InfraError, ValidationError } from '../errors.js';

/** A byte range of `get`: inclusive of `start` and `end`. */
export interface ByteRange {
  start: number;
  end?: number;
}

/** Throws ValidationError unless `range` has whole numbers with 0 <= start <= end. */
export function checkRange(range: ByteRange): void {
  const { start, end } = range;
  const issues: FieldIssue[] = [];
  if (!Number.isSafeInteger(start) || start < 0)
    issues.push({ field: 'range.start', reason: 'must be a whole number >= 0' });
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    issues.push({ field: 'range.end', reason: 'must be a whole number >= range.start' });
  }
  if (issues.length > 0) throw new ValidationError('invalid artifact range', issues);
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Throws ValidationError unless `sha256` is a lower-case hex sha256 digest (or undefined). */
export function checkSha256Option(sha256: string | undefined): void {
  if (sha256 !== undefined && !SHA256_HEX.test(sha256)) {
    throw new ValidationError('invalid download options', [
      { field: 'sha256', reason: 'must be 64 lower-case hex digits' },
    ]);
  }
}

/**
 * Throws InfraError ARTIFACT_CORRUPT when the bytes read (`actual`) do not have the digest that
 * `source` (the manifest, the object's metadata) says they should; nothing to check when undefined.
 */
export function verifySha256(
  key: string,
  actual: string,
  expected: string | undefined,
  source: string,
): void {
  if (expected === undefined || expected === actual) return;
  throw new InfraError(
    'ARTIFACT_CORRUPT',
    `artifact "${key}" is corrupt: its bytes have sha256 ${actual}, ${source} says ${expected}`,
  );
}

/** Temp files are `.<name>.<16 hex>.tmp` beside their destination. */
export const TEMP_FILE = /^\..+\.[0-9a-f]{16}\.tmp$/;

export const tempPathFor = (path: string): string =>
  join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
