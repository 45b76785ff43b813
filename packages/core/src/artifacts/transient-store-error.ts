/**
 * Which artifact store failures are worth retrying: network errors, timeouts, HTTP 5xx, 408, 429
 * and S3's throttling codes. Never a missing object, a refused key, bad input, a corrupt object,
 * an auth or other 4xx answer, or a local disk error (ENOSPC).
 */
import { GpufleetError, InfraError } from '../errors.js';
import { errorCodeOf, httpStatusOf } from './s3-errors.js';

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const THROTTLING_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'InternalError',
]);

/** Store errors that say the same call will fail again. */
const PERMANENT_CODES = new Set(['ARTIFACT_CORRUPT']);

/** Whether retrying the operation that threw `error` may succeed (see the module comment). */
export function isTransientStoreError(error: unknown): boolean {
  if (error instanceof GpufleetError && !(error instanceof InfraError)) return false;
  if (error instanceof InfraError && PERMANENT_CODES.has(error.code)) return false;
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    const verdict = verdictOf(current);
    if (verdict !== undefined) return verdict;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** true or false when this error (not its cause) decides it; undefined to look at the cause. */
function verdictOf(error: unknown): boolean | undefined {
  const status = httpStatusOf(error);
  const code = errorCodeOf(error);
  if (code !== undefined && (NETWORK_CODES.has(code) || THROTTLING_CODES.has(code))) return true;
  if (status !== undefined && status >= 500) return true;
  if (status === 408 || status === 429) return true;
  if (status !== undefined && status >= 400) return false;
  if ((error as { $retryable?: unknown }).$retryable) return true;
  if (error instanceof InfraError) return undefined;
  // A Node error with some other code (ENOSPC, EACCES, EIO) is a local fault: not retried.
  return code !== undefined && /^E[A-Z]+$/.test(code) ? false : undefined;
}
