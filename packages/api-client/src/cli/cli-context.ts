/**
 * What every command works with: the output, a client connected as the flags, the environment and
 * the profile say, the profile's task defaults, and an abort signal that fires on Ctrl-C. When the
 * API cannot be reached (or is busy), the first retry says so on stderr, with the URL, once.
 */
import { GpufleetClient } from '../client.js';
import { ApiUnreachableError, UsageError } from '../errors.js';
import type { RetryNotice } from '../http/http-client.js';
import { parseDuration } from '../profiles/duration.js';
import { resolveConnection, type Connection } from '../profiles/resolve-connection.js';
import { formatDuration } from './format.js';
import { Output, type OutputStreams } from './output.js';

/** The process the command runs in (tests may give their own). */
export interface CliRuntime extends OutputStreams {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Fires on the first Ctrl-C. */
  signal: AbortSignal;
  /** Set by the command that ran. */
  exitCode: number;
}

export interface GlobalFlags {
  profile?: string;
  apiUrl?: string;
  token?: string;
  json?: boolean;
  retryFor?: string;
}

export interface CliContext {
  out: Output;
  client: GpufleetClient;
  connection: Connection;
  signal: AbortSignal;
  runtime: CliRuntime;
}

export function outputFor(runtime: CliRuntime, flags: GlobalFlags): Output {
  return new Output(Boolean(flags.json), runtime);
}

/** `gpufleet: the gpufleet API at URL cannot be reached (ECONNREFUSED); retrying for up to 30s...` */
export function retryNote(notice: RetryNotice): string {
  const why =
    notice.error instanceof ApiUnreachableError
      ? notice.error.message
      : `the gpufleet API at ${notice.url} answered ${notice.error.status} (${notice.error.message})`;
  return `gpufleet: ${why}; retrying for up to ${formatDuration(notice.retryForMs)} (--retry-for)...`;
}

export async function openContext(runtime: CliRuntime, flags: GlobalFlags): Promise<CliContext> {
  let retryForMs: number | undefined;
  if (flags.retryFor !== undefined) {
    const ms = parseDuration(flags.retryFor);
    if (ms === null)
      throw new UsageError(`--retry-for wants a duration such as 30s or 2m (got "${flags.retryFor}")`);
    retryForMs = ms;
  }
  const connection = await resolveConnection({
    cwd: runtime.cwd,
    env: runtime.env,
    profile: flags.profile,
    apiUrl: flags.apiUrl,
    token: flags.token,
  });
  const out = outputFor(runtime, flags);
  let toldRetrying = false;
  const onRetry = (notice: RetryNotice): void => {
    if (toldRetrying) return;
    toldRetrying = true;
    out.note(retryNote(notice));
  };
  return {
    out,
    client: new GpufleetClient({ url: connection.apiUrl, token: connection.token, retryForMs, onRetry }),
    connection,
    signal: runtime.signal,
    runtime,
  };
}
