import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { isTransientStoreError } from '../src/artifacts/transient-store-error.js';
import { retryDelayMs, withStoreRetry } from '../src/artifacts/with-store-retry.js';
import { InfraError, NotFoundError, PathEscapeError, ValidationError } from '../src/errors.js';
import type { Logger } from '../src/logger.js';

/** An error shaped like the AWS SDK's S3 errors. */
const s3Error = (name: string, status: number): Error =>
  Object.assign(new Error(`${name} from S3`), { name, $metadata: { httpStatusCode: status } });
const nodeError = (code: string): Error => Object.assign(new Error(`${code}: boom`), { code });
const infra = (cause: unknown): InfraError =>
  new InfraError('ARTIFACT_WRITE_FAILED', 'could not write', cause);

function capturedLogger(): {
  logger: Logger;
  lines: { level: number; msg: string; err?: { message: string } }[];
} {
  const lines: { level: number; msg: string; err?: { message: string } }[] = [];
  const sink = new Writable({
    write(line: Buffer, _encoding, done): void {
      lines.push(JSON.parse(line.toString()) as (typeof lines)[number]);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

/** An op that fails with `errors` in turn, then resolves to 'done'; it records its calls. */
function flaky(...errors: unknown[]): { op: (attempt: number) => Promise<string>; calls: number[] } {
  const calls: number[] = [];
  const op = async (attempt: number): Promise<string> => {
    calls.push(attempt);
    const error = errors.shift();
    if (error !== undefined) throw error;
    return 'done';
  };
  return { op, calls };
}

describe('isTransientStoreError', () => {
  it.each([
    ['a network error', infra(nodeError('ECONNRESET'))],
    [
      'a refused connection, two causes deep',
      infra(new Error('wrapped', { cause: nodeError('ECONNREFUSED') })),
    ],
    ['a 500', infra(s3Error('InternalError', 500))],
    ['a 503 SlowDown', infra(s3Error('SlowDown', 503))],
    ['a 429', infra(s3Error('TooManyRequests', 429))],
    ['a time-out', infra(Object.assign(new Error('timed out'), { name: 'TimeoutError' }))],
  ])('retries %s', (_what, error) => {
    expect(isTransientStoreError(error)).toBe(true);
  });

  it.each([
    ['a missing object', new NotFoundError('artifact "k"')],
    ['a refused key', new PathEscapeError('../k', 'it has a ".." segment')],
    ['bad input', new ValidationError('invalid range', [{ field: 'range.start', reason: 'negative' }])],
    ['a 403', infra(s3Error('AccessDenied', 403))],
    ['a 404 bucket', infra(s3Error('NoSuchBucket', 404))],
    ['a full disk', infra(nodeError('ENOSPC'))],
    ['a corrupt object', new InfraError('ARTIFACT_CORRUPT', 'sha256 differs', s3Error('InternalError', 500))],
    ['an error of unknown kind', infra(new Error('something odd'))],
  ])('does not retry %s', (_what, error) => {
    expect(isTransientStoreError(error)).toBe(false);
  });
});

describe('withStoreRetry', () => {
  it('retries transient failures and returns the result, warning once with the cause', async () => {
    const { logger, lines } = capturedLogger();
    const { op, calls } = flaky(infra(nodeError('ECONNRESET')), infra(s3Error('SlowDown', 503)));
    expect(await withStoreRetry(op, { attempts: 5, baseMs: 1, logger, what: 'upload of k' })).toBe('done');
    expect(calls).toEqual([1, 2, 3]);
    const warnings = lines.filter((line) => line.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      msg: 'upload of k failed; retrying with backoff',
      err: { message: 'could not write: ECONNRESET: boom' },
    });
    expect(lines.at(-1)).toMatchObject({ level: 30, msg: 'upload of k succeeded at try 3' });
  });

  it('throws a lasting failure at once', async () => {
    const denied = infra(s3Error('AccessDenied', 403));
    const { op, calls } = flaky(denied);
    await expect(withStoreRetry(op, { attempts: 5, baseMs: 1 })).rejects.toBe(denied);
    expect(calls).toEqual([1]);
  });

  it('gives up after the tries, throwing the last error and logging the give-up', async () => {
    const { logger, lines } = capturedLogger();
    const errors = [1, 2, 3, 4].map((n) =>
      infra(new Error(`outage ${n}`, { cause: nodeError('ECONNREFUSED') })),
    );
    const { op, calls } = flaky(...errors);
    await expect(withStoreRetry(op, { attempts: 3, baseMs: 1, logger, what: 'upload of k' })).rejects.toBe(
      errors[2],
    );
    expect(calls).toEqual([1, 2, 3]);
    expect(lines.map((line) => line.level)).toEqual([40, 50]);
    expect(lines[1]?.msg).toMatch(/^upload of k failed 3 time\(s\) in \d+ ms; giving up$/);
  });

  it('gives up when the next try would start past limitMs', async () => {
    const errors = Array.from({ length: 100 }, () => infra(nodeError('ETIMEDOUT')));
    const { op, calls } = flaky(...errors);
    const started = Date.now();
    const error = await withStoreRetry(op, { limitMs: 200, baseMs: 20, maxMs: 40 }).catch((e: unknown) => e);
    expect(error).toBe(errors[calls.length - 1]);
    expect(Date.now() - started).toBeLessThan(400);
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(calls.length).toBeLessThan(20);
  });

  it('stops waiting when its signal aborts, throwing the last error', async () => {
    const controller = new AbortController();
    const outage = infra(nodeError('ECONNREFUSED'));
    const { op, calls } = flaky(outage, outage, outage);
    const retried = withStoreRetry(op, { attempts: 5, baseMs: 60_000, signal: controller.signal });
    setImmediate(() => controller.abort(new Error('task cancelled')));
    await expect(retried).rejects.toBe(outage);
    expect(calls).toEqual([1]);
    await expect(withStoreRetry(op, { signal: controller.signal })).rejects.toThrow('task cancelled');
  });

  it('waits min(maxMs, baseMs * 2^(n-1)), the upper half of it random', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, 100, 1_000, () => 0))).toEqual([
      50, 100, 200, 400, 500,
    ]);
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, 100, 1_000, () => 1))).toEqual([
      100, 200, 400, 800, 1_000,
    ]);
    expect(retryDelayMs(80, 100, 1_000, () => 1)).toBe(1_000);
  });
});
