/**
 * What the pages do to tasks: cancel one or several (with the API's answer for each), and submit a
 * task again with the spec it was submitted with (a new task; the old one stays as it ended).
 */
import type { GpufleetClient, TaskSpec, TaskView } from '@gpufleet/api-client';

/** The spec `task` was submitted with, as far as its record tells (a new idempotency key). */
export function specOf(task: TaskView): TaskSpec {
  return {
    executer: task.executer,
    queue: task.queue,
    params: task.params,
    gpus: task.gpus,
    ...(task.gpuModels.length > 0 && { gpuModels: task.gpuModels }),
    ...(task.minGpuMemoryMiB !== null && { minGpuMemoryMiB: task.minGpuMemoryMiB }),
    ...(task.gpuShareMiB !== null && { gpuShareMiB: task.gpuShareMiB }),
    timeLimitMs: task.timeLimitMs,
    maxAttempts: task.maxAttempts,
    priority: task.priority,
    preemptible: task.preemptible,
    ...(task.name !== null && { name: task.name }),
    ...(Object.keys(task.tags).length > 0 && { tags: task.tags }),
  };
}

/** Submits task `id` again; resolves with the new task's id. */
export async function resubmit(client: GpufleetClient, id: string): Promise<string> {
  const task = await client.getTask(id);
  if (task.inputs.length > 0) {
    throw new Error(
      'this task had input files, which the dashboard cannot send again: use `gpufleet submit`',
    );
  }
  const submitted = await client.submit(specOf(task));
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
