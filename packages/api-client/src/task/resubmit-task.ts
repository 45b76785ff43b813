/**
 * POST /v1/tasks/:id/resubmit: the task submitted again as a new task, with the spec and input
 * files it was submitted with (the API copies the inputs), for the task's tenant. Sent with an
 * `Idempotency-Key` (a new random one unless given, kept across retries), so a retried request
 * never makes two tasks.
 */
import type { ResubmitResult } from '../generated/api-types.js';
import type { HttpClient } from '../http/http-client.js';
import { randomUuid } from '../http/random-uuid.js';
import { SubmittedTask } from './task-handle.js';

export interface ResubmitOptions {
  /** Default: a new random key. The same key for the same task answers with the same new task. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export async function resubmitTask(
  http: HttpClient,
  id: string,
  options: ResubmitOptions = {},
): Promise<SubmittedTask<ResubmitResult>> {
  const key = options.idempotencyKey ?? randomUuid();
  const result = await http.json<ResubmitResult>(`/v1/tasks/${encodeURIComponent(id)}/resubmit`, {
    method: 'POST',
    headers: { 'idempotency-key': key },
    signal: options.signal,
  });
  return new SubmittedTask(http, result, key);
}
