/**
 * Named errors with a stable string `code`. "The task failed" (TaskError and its kin) is kept apart
 * from "the infrastructure failed" (InfraError): a task error ends one task, an infrastructure
 * error is retried or stops the process.
 */

/** One problem with one field of an input: `field` is a dotted path (`params.steps`, `command[0]`). */
export interface FieldIssue {
  field: string;
  reason: string;
}

export class GpufleetError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad input: every problem found, each naming its field. Nothing was written. */
export class ValidationError extends GpufleetError {
  readonly issues: FieldIssue[];
  constructor(what: string, issues: FieldIssue[], code = 'VALIDATION_FAILED') {
    super(code, `${what}: ${issues.map((i) => `${i.field}: ${i.reason}`).join('; ')}`);
    this.issues = issues;
  }
}

/** The configuration (environment, flags) has bad values; all of them are listed. */
export class ConfigError extends ValidationError {
  constructor(issues: FieldIssue[]) {
    super('invalid configuration', issues, 'CONFIG_INVALID');
  }
}

/** An executer manifest is malformed: names the file, the field and the reason. */
export class ManifestError extends ValidationError {
  readonly file: string;
  constructor(file: string, issues: FieldIssue[]) {
    super(`invalid executer manifest ${file}`, issues, 'MANIFEST_INVALID');
    this.file = file;
  }
}

/** The executer is not offered by any tracker of the queue. */
export class UnknownExecuterError extends ValidationError {
  constructor(executer: string, queue: string, known: string[]) {
    const reason =
      known.length === 0
        ? `no tracker has registered on queue "${queue}" yet, so no executer is known`
        : `queue "${queue}" offers no executer "${executer}" (it offers: ${known.join(', ')})`;
    super('invalid task', [{ field: 'executer', reason }], 'UNKNOWN_EXECUTER');
  }
}

/** An idempotency key was reused with a different task body. */
export class IdempotencyConflictError extends GpufleetError {
  readonly taskId: string;
  constructor(taskId: string) {
    super(
      'IDEMPOTENCY_CONFLICT',
      `the idempotency key was already used for task ${taskId} with another body`,
    );
    this.taskId = taskId;
  }
}

/**
 * A tenant's quota refused a task: it already has `waiting` tasks queued in `queue` (quotas are
 * per queue), and its limit (`maxWaitingTasks`) is `limit`. Nothing was written.
 */
export class QuotaExceededError extends GpufleetError {
  readonly tenant: string;
  readonly queue: string;
  readonly limit: number;
  readonly waiting: number;
  constructor(quota: { tenant: string; queue: string; limit: number; waiting: number }) {
    const { tenant, queue, limit, waiting } = quota;
    super(
      'QUOTA_EXCEEDED',
      `tenant "${tenant}" has ${waiting} task${waiting === 1 ? '' : 's'} waiting in queue "${queue}"; ` +
        `its limit is ${limit} (maxWaitingTasks)`,
    );
    this.tenant = tenant;
    this.queue = queue;
    this.limit = limit;
    this.waiting = waiting;
  }
}

export class NotFoundError extends GpufleetError {
  constructor(what: string) {
    super('NOT_FOUND', `${what} not found`);
  }
}

/** A path (artifact key, archive entry, output path) would leave the folder it is confined to. */
export class PathEscapeError extends GpufleetError {
  readonly path: string;
  constructor(path: string, reason: string) {
    super('PATH_ESCAPE', `refused path ${JSON.stringify(path)}: ${reason}`);
    this.path = path;
  }
}

/** A dependency (Redis, the artifact store, the disk) failed; the cause says how. */
export class InfraError extends GpufleetError {
  constructor(code: string, message: string, cause?: unknown) {
    super(code, message, { cause });
  }
}

/** Another live tracker already uses this consumer name. */
export class ConsumerNameTakenError extends GpufleetError {
  constructor(name: string, holder: string) {
    super(
      'CONSUMER_NAME_TAKEN',
      `REDIS_CONSUMER_NAME "${name}" is already used by a live tracker (${holder}); give every tracker a unique name`,
    );
  }
}
