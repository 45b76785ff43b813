/**
 * The spec a task was submitted with, read back from its record, to submit it again
 * (POST /v1/tasks/:id/resubmit). Its GPU request, time limit and priority are as the record holds
 * them: as submitted or as resolved then (the executer's defaults, the queue's default priority;
 * the priority as last changed). Its idempotency key is not carried: the new task is a new
 * submission, and the old key would answer with the old task. Nor is its `after`: the task it
 * waited for has ended, and the new one starts when it can.
 */
import type { TaskRecord, TaskSpec } from '@gpufleet/core';

export function resubmitSpec(record: TaskRecord): TaskSpec {
  const { gpuRequest } = record;
  const share = gpuRequest.shareMiB ?? null;
  return {
    executer: record.executer,
    queue: record.queue,
    params: record.params,
    gpus: record.gpus,
    ...(gpuRequest.models.length > 0 && { gpuModels: [...gpuRequest.models] }),
    ...(gpuRequest.minMemoryMiB !== null && { minGpuMemoryMiB: gpuRequest.minMemoryMiB }),
    ...(share !== null && { gpuShareMiB: share }),
    ...(record.waitForCapacity && { waitForCapacity: true }),
    timeLimitMs: record.timeLimitMs,
    maxAttempts: record.maxAttempts,
    retries: record.retries,
    ...(record.retryBackoff !== null && { retryBackoff: record.retryBackoff }),
    ...(record.inputs.length > 0 && { inputs: record.inputs }),
    ...(record.name !== null && { name: record.name }),
    ...(Object.keys(record.tags).length > 0 && { tags: record.tags }),
    priority: record.priority,
    ...(record.preemptible && { preemptible: true }),
    ...(record.envSetup !== null && { envSetup: record.envSetup }),
    ...(Object.keys(record.slurm).length > 0 && { slurm: record.slurm }),
  };
}
