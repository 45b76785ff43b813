/**
 * The exit codes of `gpufleet`, which scripts can rely on: 0 ok; 1 a task did not succeed (or
 * another failure); 2 a usage error: bad flags, bad configuration, or a request the API refused
 * as invalid, unauthorised or impossible (NO_CAPACITY); 3 the API is unreachable (or answers 503 past the retries); 4 the
 * task or output does not exist (or a task's input files, to submit it again); 5 a service task is
 * not ready (`endpoints` without `--wait`, or past `--timeout`; `submit --wait-ready` past `--ready-timeout`).
 */
import { CommanderError } from 'commander';
import {
  ApiRequestError,
  ApiUnreachableError,
  ConfigFileError,
  DownloadError,
  InputError,
  NoApiConfiguredError,
  UsageError,
} from '../errors.js';

export const EXIT = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  UNREACHABLE: 3,
  NOT_FOUND: 4,
  NOT_READY: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const NOT_FOUND_CODES = new Set([
  'NOT_FOUND',
  'NO_OUTPUTS',
  'OUTPUTS_EXPIRED',
  'OUTPUT_NOT_FOUND',
  'INPUTS_GONE',
]);
const USAGE_STATUSES = new Set([400, 401, 403, 413, 415, 422]);

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof CommanderError) return EXIT.USAGE;
  if (
    error instanceof UsageError ||
    error instanceof ConfigFileError ||
    error instanceof NoApiConfiguredError ||
    error instanceof InputError
  ) {
    return EXIT.USAGE;
  }
  if (error instanceof ApiUnreachableError) return EXIT.UNREACHABLE;
  if (error instanceof DownloadError && NOT_FOUND_CODES.has(error.code)) return EXIT.NOT_FOUND;
  if (error instanceof ApiRequestError) {
    if (NOT_FOUND_CODES.has(error.code)) return EXIT.NOT_FOUND;
    if (error.status >= 502 && error.status <= 504) return EXIT.UNREACHABLE;
    if (USAGE_STATUSES.has(error.status) || error.code === 'IDEMPOTENCY_CONFLICT') return EXIT.USAGE;
  }
  return EXIT.FAILED;
}

/** The most serious of several outcomes (not ready > not found > unreachable > usage > failed > ok). */
export function worstExit(codes: Iterable<number>): ExitCode {
  let worst: ExitCode = EXIT.OK;
  for (const code of codes) if (code > worst) worst = code as ExitCode;
  return worst;
}
