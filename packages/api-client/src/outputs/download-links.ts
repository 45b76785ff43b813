/**
 * The client's side of POST /v1/tasks/:id/download-links (`GpufleetClient.downloadLink`): a link
 * to one output file or the outputs zip that works without the API key for a minute, for a
 * browser to follow as a plain link (an `<a href>` sends no Authorization header).
 */
import type { DownloadLink, DownloadLinkRequest } from '../generated/api-types.js';
import type { HttpClient } from '../http/http-client.js';

/** A link to a task's output file (`{ path }`) or its outputs zip (`{ zip: true }`). */
export async function downloadLinkRequest(
  http: HttpClient,
  id: string,
  target: DownloadLinkRequest,
  options: { signal?: AbortSignal } = {},
): Promise<DownloadLink> {
  const json: DownloadLinkRequest = 'zip' in target ? { zip: true } : { path: target.path };
  return http.json<DownloadLink>(`/v1/tasks/${encodeURIComponent(id)}/download-links`, {
    method: 'POST',
    json,
    signal: options.signal,
  });
}
