/**
 * `connect()`: a client configured as the `gpufleet` command is (flags, then GPUFLEET_API_URL and
 * GPUFLEET_TOKEN, then the profile; a running local fleet when nothing else is configured). Node
 * only (it reads config files): exported by `@gpufleet/api-client/node`.
 */
import { GpufleetClient } from './client.js';
import { resolveConnection, type Connection, type ResolveOptions } from './profiles/resolve-connection.js';

export async function connect(
  options: ResolveOptions & { retryForMs?: number } = {},
): Promise<GpufleetClient & { connection: Connection }> {
  const connection = await resolveConnection(options);
  const client = new GpufleetClient({
    url: connection.apiUrl,
    token: connection.token,
    retryForMs: options.retryForMs,
  });
  return Object.assign(client, { connection });
}
