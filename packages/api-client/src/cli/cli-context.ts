/**
 * What every command works with: the output, a client connected as the flags, the environment and
 * the profile say, the profile's task defaults, and an abort signal that fires on Ctrl-C.
 */
import { GpufleetClient } from '../client.js';
import { UsageError } from '../errors.js';
import { parseDuration } from '../profiles/duration.js';
import { resolveConnection, type Connection } from '../profiles/resolve-connection.js';
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
  return {
    out: outputFor(runtime, flags),
    client: new GpufleetClient({ url: connection.apiUrl, token: connection.token, retryForMs }),
    connection,
    signal: runtime.signal,
    runtime,
  };
}
