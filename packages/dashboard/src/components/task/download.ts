/**
 * Downloads without the API key in a URL: an `<a href>` cannot send an Authorization header, so an
 * output file or the outputs zip is asked for as a short-lived link (`client.downloadLink`: a
 * `/v1/downloads/<token>` URL that needs no key, valid a minute) which a hidden `<a download>` then
 * follows; the browser saves it as any download, streamed, whatever its size. The full log, which
 * has no such link, is read with the key (GET /v1/tasks/:id/logs) and saved from a blob.
 */
import type { GpufleetClient } from '@gpufleet/api-client';

/** Follows `url` as a download (saved as `filename` where the browser lets the page name it). */
export function clickDownload(url: string, filename = ''): void {
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
}

/** `frames/frame-00001.csv` → `frame-00001.csv`. */
export const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** Downloads output `path` of task `id`, or with `zip` all its outputs as one zip. */
export async function downloadOutputs(
  client: GpufleetClient,
  id: string,
  target: { path: string } | { zip: true },
): Promise<void> {
  const link = await client.downloadLink(id, target);
  const filename = 'path' in target ? baseName(target.path) : `${id}-outputs.zip`;
  clickDownload(new URL(link.url, client.url).href, filename);
}

/** Saves task `id`'s whole log (stdout and stderr in the order written) as `<id>.log`. */
export async function downloadLog(client: GpufleetClient, id: string): Promise<void> {
  const stream = await client.task(id).logStream();
  const text = await new Response(stream).blob();
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  clickDownload(url, `${id}.log`);
  // The download has taken the blob by the time a minute has passed; the page need not hold it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
