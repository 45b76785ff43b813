/**
 * The tracker's named errors. `TaskFailure` is "the task failed" (as opposed to "the
 * infrastructure failed", core's InfraError, which is retried or stops the tracker): it ends one
 * task with the final status its code stands for, records the code as the task's `errorCode` and
 * its message as `error`, and keeps what went wrong underneath as its `cause`. The codes are
 * core's TASK_FAILURES (so the API can read them without depending on the tracker), re-exported
 * here; `docs/task-failures.md` lists them.
 */
import { GpufleetError, TASK_FAILURES, type TaskFailureCode, type TaskStatus } from '@gpufleet/core';

export { TASK_FAILURES, type TaskFailureCode };

/** A task ends without succeeding: its code, its final status and the reason recorded. */
export class TaskFailure extends GpufleetError {
  declare readonly code: TaskFailureCode;
  /** The final status the code stands for (TASK_FAILURES). */
  readonly status: TaskStatus;

  constructor(code: TaskFailureCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = TASK_FAILURES[code].status;
  }
}
