/**
 * The client's side of POST /v1/trackers/:name/drain and /undrain (admin keys): what `drain` and
 * `undrain` take, and the request they send (`GpufleetClient.drain`, `undrain`).
 */
import type { DrainRequest, DrainState } from '../generated/api-types.js';
import type { HttpClient } from '../http/http-client.js';

/** What `drain` and `undrain` take. */
export interface DrainOptions {
  /** One GPU of the tracker (its id in `trackers()`); absent: the whole tracker. */
  gpu?: number;
  /** Why (shown with the tracker); default "drained by an operator". `undrain` takes none. */
  reason?: string;
  /** The tracker's queue, when trackers of that name serve several. */
  queue?: string;
  signal?: AbortSignal;
}

/** Drains (or undrains) tracker `tracker`, or one of its GPUs; the tracker's drains as they stand. */
export async function drainRequest(
  http: HttpClient,
  tracker: string,
  action: 'drain' | 'undrain',
  options: DrainOptions,
): Promise<DrainState> {
  const body: DrainRequest = { gpu: options.gpu, ...(action === 'drain' && { reason: options.reason }) };
  return http.json<DrainState>(`/v1/trackers/${encodeURIComponent(tracker)}/${action}`, {
    method: 'POST',
    query: { queue: options.queue },
    json: body,
    signal: options.signal,
  });
}
