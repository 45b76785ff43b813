/**
 * What the pages do to tasks: cancel one or several (with the API's answer for each), and submit a
 * task again with the spec and input files it was submitted with (the API's resubmit: a new task;
 * the old one stays as it ended).
 */
import type { GpufleetClient } from '@gpufleet/api-client';

/** Submits task `id` again; resolves with the new task's id. */
export async function resubmit(client: GpufleetClient, id: string): Promise<string> {
  const submitted = await client.resubmit(id);
  return submitted.id;
}

export interface CancelOutcome {
  id: string;
  /** The API's answer (`cancelled`, `cancelling`, ...) or why it failed. */
  outcome: string;
  ok: boolean;
}

/** Cancels `ids`, a few at a time (the API is not flooded by a bulk cancel), each answer kept. */
export async function cancelMany(
  client: GpufleetClient,
  ids: readonly string[],
  parallel = 4,
): Promise<CancelOutcome[]> {
  const results: CancelOutcome[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++] as string;
      try {
        const answer = await client.cancel(id);
        results.push({ id, outcome: answer.status, ok: true });
      } catch (error) {
        results.push({ id, outcome: error instanceof Error ? error.message : String(error), ok: false });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, ids.length) }, worker));
  return results;
}
