/** Reading the AWS SDK's errors: missing objects, HTTP status, a one-line description. */

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

const shape = (error: unknown): SdkErrorShape =>
  typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};

/** The HTTP status of an S3 error response, or undefined (network errors, local errors). */
export function httpStatusOf(error: unknown): number | undefined {
  const status = shape(error).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The S3 error code (`NoSuchKey`, `SlowDown`) or Node error code (`ECONNRESET`), if any. */
export function errorCodeOf(error: unknown): string | undefined {
  const { name, code, Code } = shape(error);
  for (const value of [Code, code, name]) {
    if (typeof value === 'string' && value !== 'Error' && value !== 'S3ServiceException') return value;
  }
  return undefined;
}

/**
 * Whether S3 said there is no such object. A HEAD answer has no body, so its 404 is `NotFound`;
 * NoSuchBucket is not "missing": it is a configuration fault and stays an error.
 */
export function isMissingObject(error: unknown): boolean {
  const code = errorCodeOf(error);
  return code === 'NoSuchKey' || (code === 'NotFound' && httpStatusOf(error) === 404);
}

/** `NoSuchUpload (HTTP 404): The specified upload does not exist.`, `ECONNREFUSED: connect ...` */
export function describeS3Error(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = errorCodeOf(error);
  const status = httpStatusOf(error);
  const label = [code, status === undefined ? undefined : `(HTTP ${status})`].filter(Boolean).join(' ');
  const message = error.message === '' || error.message === 'UnknownError' ? '' : error.message;
  if (label === '') return message || error.name;
  return message === '' || message.includes(label) ? label : `${label}: ${message}`;
}
