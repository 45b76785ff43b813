/**
 * The API's request and response types, generated from its OpenAPI document (the route schemas
 * of @gpufleet/api), core's TASK_STATUSES, FINAL_STATUSES, TASK_FAILURE_CODES and priority range and the API's
 * WAIT_REASONS by test/helpers/openapi-types.ts. Do not edit: run
 * `npx vitest run packages/api-client/test/api-types.test.ts -u` after an API change.
 */

/** A task’s status: queued → running → uploading → succeeded | failed | timed_out | cancelled | dead. */
export type TaskStatus =
  'queued' | 'running' | 'uploading' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'dead';

/** Every status, in the order a task goes through them. */
export const TASK_STATUSES: readonly TaskStatus[] = [
  'queued',
  'running',
  'uploading',
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'dead',
];

/** Statuses a task never leaves. */
export const FINAL_STATUSES: readonly TaskStatus[] = [
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'dead',
];

/** The API's error codes (docs/api.md). */
export const API_ERROR_CODES = [
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'VALIDATION_FAILED',
  'INVALID_JSON',
  'UNSUPPORTED_MEDIA_TYPE',
  'INVALID_UPLOAD',
  'INVALID_PATH',
  'INVALID_CURSOR',
  'UNKNOWN_EXECUTER',
  'NO_CAPACITY',
  'PAYLOAD_TOO_LARGE',
  'IDEMPOTENCY_CONFLICT',
  'QUOTA_EXCEEDED',
  'TASK_FINISHED',
  'TASK_NOT_WAITING',
  'INPUTS_GONE',
  'OUTPUTS_NOT_READY',
  'NO_OUTPUTS',
  'OUTPUTS_EXPIRED',
  'OUTPUT_NOT_FOUND',
  'RANGE_NOT_SATISFIABLE',
  'REDIS_UNAVAILABLE',
  'ARTIFACT_STORE_UNAVAILABLE',
  'INTERNAL',
  'CLIENT_TOO_SLOW',
] as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** Why a task ended without succeeding: its `errorCode` (docs/task-failures.md). */
export const TASK_FAILURE_CODES = [
  'EXIT_NONZERO',
  'KILLED_BY_SIGNAL',
  'TIME_LIMIT',
  'CANCELLED',
  'SPAWN_FAILED',
  'SPAWNER_DIED',
  'NO_EXECUTER',
  'PARAMS_INVALID',
  'INPUTS_REFUSED',
  'INPUTS_UNAVAILABLE',
  'OUTPUTS_NOT_STORED',
  'ATTEMPTS_EXHAUSTED',
  'UNSCHEDULABLE',
  'ENV_SETUP_NOT_ALLOWED',
  'SLURM_JOB_FAILED',
  'SERVICE_NOT_READY',
  'GPU_ERROR',
] as const;

export type TaskFailureCode = (typeof TASK_FAILURE_CODES)[number];

/** Why a queued task waits: its `waitReason` (docs/api.md). */
export const WAIT_REASONS = [
  'Priority',
  'FairShare',
  'Quota',
  'Resources',
  'Reservation',
  'Preemption',
  'Unschedulable',
  'BeginTime',
  'Dependency',
] as const;

export type WaitReason = (typeof WAIT_REASONS)[number];

/** A task's `priority`: a whole number from PRIORITY_MIN to PRIORITY_MAX, higher starts first. */
export const PRIORITY_MIN = 0;
export const PRIORITY_MAX = 1000;

/** One input file of a task. */
export type TaskInput = { name: string; extract?: boolean };

/** POST /v1/tasks: what a task runs (the task spec). */
export type TaskSpec = {
  /** executer name */
  executer: string;
  /** checked by the executer schema */
  params?: Record<string, unknown>;
  /** default: the executer’s */
  gpus?: number;
  /** GPU models the task may run on, any of them: each matched word by word against the name nvidia-smi reports, ignoring case (`H100` matches `NVIDIA H100 80GB HBM3`; `*` any characters) */
  gpuModels?: string[];
  /** the least total memory of each of its GPUs, MiB, as the driver reports it (an "80GB" H100 reports 81559) */
  minGpuMemoryMiB?: number;
  /** share one GPU by memory: the task uses at most this much of it (MiB), and runs beside other shares on a GPU while their shares fit its memory (gpus must be 1); no isolation without MPS */
  gpuShareMiB?: number;
  /** accept the task even when no live tracker of its queue can run it (its GPU count, model, memory or executer), and let it wait for one to join; default false: such a task is refused with 422 */
  waitForCapacity?: boolean;
  timeLimitMs?: number;
  /** starts that may be lost (tracker died, lease lapsed) before dead; default 3 */
  maxAttempts?: number;
  /** reruns after a failed exit */
  retries?: number;
  retryBackoff?: { strategy: 'fixed' | 'exponential'; delayMs: number };
  /** letters, digits, . _ - */
  queue?: string;
  idempotencyKey?: string;
  inputs?: TaskInput[];
  /** a name for people: 1-200 characters, no control characters */
  name?: string;
  /** at most 32 tags; keys: 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit; values: strings of at most 256 characters, no control characters */
  tags?: Record<string, string>;
  /** 0-1000, higher starts first; default 500 (or the queue's) */
  priority?: number;
  /** may be stopped (SIGTERM, then SIGKILL after the tracker’s preemption grace) and requeued for a task of higher priority; the preemption does not count as an attempt */
  preemptible?: boolean;
  /** the id of a task of the same queue and tenant: this one waits until that one has ended, however it ended (SLURM’s afterany); `--runs N --chain` in the CLI */
  after?: string;
  /** one shell line (a profile’s `env`, `conda activate deep`) run by bash before the executer, in the shell that then execs it: its exports reach the executer; the parameters never pass through that shell. Only trackers started with GPUFLEET_ALLOW_ENV_SETUP=1 run it */
  envSetup?: string;
  /** what a SLURM-backend tracker asks of SLURM for this task’s job, over its own defaults (GPUFLEET_SLURM_*); other trackers ignore it */
  slurm?: {
    /** sbatch --partition */
    partition?: string;
    /** sbatch --account */
    account?: string;
    /** sbatch --mem: memory per node, a whole number with an optional K, M (default), G or T */
    mem?: string;
    /** sbatch --cpus-per-task */
    cpusPerTask?: number;
  };
};

/** Every answer that is not a success. */
export type ErrorBody = {
  error: {
    /** stable code, listed in docs/api.md */
    code: string;
    message: string;
    details: Record<string, unknown>;
  };
};

/** POST /v1/tasks (201 created, 200 replayed). */
export type SubmitResult = {
  id: string;
  queue: string;
  /** queued → running → uploading → succeeded | failed | timed_out | cancelled | dead */
  status: TaskStatus;
  /** waiting tasks ahead of this one (0 = next) */
  queuePosition: number | null;
  /** true when an earlier request with this Idempotency-Key made the task */
  replayed: boolean;
};

/** POST /v1/tasks/:id/resubmit: the new task, and the task it submitted again. */
export type ResubmitResult = SubmitResult & {
  /** the task submitted again */
  resubmittedFrom: string;
};

/** One task in GET /v1/tasks. */
export type TaskSummary = {
  id: string;
  queue: string;
  executer: string;
  /** the name given at submission; null when none */
  name: string | null;
  /** the tags given at submission; {} when none */
  tags: Record<string, string>;
  /** higher starts first; as submitted (or the queue’s default), or as last changed */
  priority: number;
  /** submitted preemptible: it may be stopped and requeued for a task of higher priority */
  preemptible: boolean;
  /** how many times it was stopped and requeued for a task of higher priority (none counted as an attempt) */
  preemptions: number;
  /** the id of the task of higher priority that preempted it last; null when never preempted */
  preemptedBy: string | null;
  /** queued → running → uploading → succeeded | failed | timed_out | cancelled | dead */
  status: TaskStatus;
  /** deliveries so far; 0 while it never ran */
  attempt: number;
  tracker: string | null;
  /** ISO 8601, UTC */
  createdAt: string;
  /** ISO 8601, UTC */
  startedAt: string | null;
  /** ISO 8601, UTC */
  endedAt: string | null;
  exitCode: number | null;
  error: string | null;
  /** why the task ended without succeeding, a stable code (docs/task-failures.md); null while it has not ended (except GPU_ERROR on a task requeued after a GPU fault) or when it succeeded */
  errorCode: TaskFailureCode | null;
  /** read from the archive: the task ended long enough ago that it left Redis (its outputs are kept unless an outputs retention is set) */
  archived: boolean;
  /** when it was archived (ms since the epoch); null while it is in Redis */
  archivedAt: number | null;
  /** the tenant it belongs to (whose key submitted it) */
  tenant: string;
  /** the GPUs it asked for (0: a CPU slot) */
  gpus: number;
  /** a running service’s state (an executer with a `service` block); null otherwise */
  service: {
    /** `waiting-for-port`: its tracker has no free port in its range (`reason`); `starting`: spawned, not ready yet; `ready`: its readiness check passed, `endpoints` set; `restarting`: it exited or failed its check (`reason`) */
    state: 'waiting-for-port' | 'starting' | 'ready' | 'restarting';
    /** port name → host:port, only while ready (the host its tracker advertises) */
    endpoints: Record<string, string> | null;
    /** ISO 8601, UTC */
    readyAt: string | null;
    /** restarts in this attempt so far */
    restarts: number;
    /** why it waits for a port or restarts */
    reason: string | null;
  } | null;
};

/** GET /v1/tasks: a page of tasks, newest first. */
export type TaskList = {
  items: TaskSummary[];
  /** pass as `cursor` for the next page; null at the end */
  nextCursor: string | null;
};

/** The query of GET /v1/tasks. */
export type ListTasksQuery = {
  /** one status or several, comma-separated: queued,running */
  status?: string;
  executer?: string;
  /** only this queue */
  queue?: string;
  /** only tasks of this name; a trailing `*` matches names starting with the rest: sweep-* */
  name?: string;
  /** only tasks with this tag: `key=value`, or `key` for any value; repeatable, all must match */
  tag?: string[];
  limit?: number;
  /** `nextCursor` of the previous page */
  cursor?: string;
  /** list archived tasks (ended long enough ago to leave Redis) that ended from `from` to `to`, newest day first, instead of the tasks in Redis */
  archived?: boolean;
  /** created at or after (tasks in Redis), or with archived=true ended at or after (required there, at most 31 days before `to`): ms since the epoch or an ISO date or time */
  from?: string;
  /** created at or before (tasks in Redis), or with archived=true ended at or before (default now); a date alone means the end of that UTC day */
  to?: string;
  /** whose tasks: default your own; another tenant’s, or `*` for every tenant’s (not with archived=true), needs an admin key */
  tenant?: string;
};

/** A task’s outputs. */
export type OutputSummary = {
  /** the attempt whose outputs these are */
  attempt: number;
  files: number;
  bytes: number;
};

/** GET /v1/tasks/:id: one task. */
export type TaskView = TaskSummary & {
  executerVersion: string | null;
  params: Record<string, unknown>;
  /** the GPUs of the current or last attempt */
  gpuIds: number[];
  /** the GPU models it may run on, any of them (as submitted, or its executer’s default); [] any */
  gpuModels: string[];
  /** the least total memory of each of its GPUs (MiB); null any */
  minGpuMemoryMiB: number | null;
  /** the share of one GPU it runs in (MiB of its memory, beside other shares); null: its GPUs are its alone */
  gpuShareMiB: number | null;
  timeLimitMs: number;
  maxAttempts: number;
  signal: string | null;
  cancelRequested: boolean;
  /** while queued: waiting tasks a tracker takes before this one (0 = next); null otherwise, and while it waits out a retry backoff */
  queuePosition: number | null;
  /** while queued, why it waits (docs/api.md): Priority, FairShare, Quota, Resources, Reservation, Preemption, Unschedulable, BeginTime or Dependency; otherwise null */
  waitReason: WaitReason | null;
  /** while queued and a tracker’s GPUs are reserved for it: when (ms since the epoch) they free by the time limits of its running tasks, the latest it should start (it may start sooner); null otherwise */
  expectedStartAt: number | null;
  /** waiting out a retry backoff until */
  notBefore: string | null;
  inputs: TaskInput[];
  idempotencyKey: string | null;
  outputs: OutputSummary | null;
  /** when the outputs retention deleted its outputs (GPUFLEET_OUTPUTS_RETENTION); null while kept */
  outputsDeletedAt: string | null;
  /** the last ended attempt’s peak GPU memory, MiB: per usage sample the sum of memory.used over its GPUs, the highest of those sums; null for a CPU task, or when no sample was taken while it ran */
  gpuPeakMemoryMiB: number | null;
  /** the last ended attempt’s mean GPU utilisation, percent, over its usage samples and its GPUs; null likewise */
  gpuMeanUtilizationPercent: number | null;
  /** the task it was submitted again from (POST /v1/tasks/:id/resubmit); null otherwise */
  resubmittedFrom: string | null;
  /** a service its lifetime ended (idle timeout, maximum age): why; null otherwise */
  serviceStopped: string | null;
  /** the task it waits for to end before it may start (`after`); null when none */
  after: string | null;
  /** the shell line run before its executer (`envSetup`); null when none */
  envSetup: string | null;
  /** what a SLURM-backend tracker asks of SLURM for this task’s job, over its own defaults (GPUFLEET_SLURM_*); other trackers ignore it */
  slurm: {
    /** sbatch --partition */
    partition?: string;
    /** sbatch --account */
    account?: string;
    /** sbatch --mem: memory per node, a whole number with an optional K, M (default), G or T */
    mem?: string;
    /** sbatch --cpus-per-task */
    cpusPerTask?: number;
  };
};

/** One output file. */
export type OutputFile = { path: string; size: number; sha256: string };

/** GET /v1/tasks/:id/outputs. */
export type OutputManifest = {
  /** the attempt that wrote these outputs */
  attempt: number;
  bytes: number;
  files: OutputFile[];
};

/** POST /v1/tasks/:id/cancel. */
export type CancelResult = {
  id: string;
  /** queued → running → uploading → succeeded | failed | timed_out | cancelled | dead */
  status: TaskStatus;
  /** true while the tracker stops a running task */
  cancelRequested: boolean;
};

/** PUT /v1/tasks/:id/priority: a waiting task’s new and previous priority. */
export type PriorityChange = {
  id: string;
  /** the priority it has now */
  priority: number;
  /** the priority it had before */
  previous: number;
};

/** An executer a queue offers. */
export type ExecuterOffer = {
  queue: string;
  name: string;
  version: string;
  description: string;
  /** JSON Schema of the parameters */
  params: Record<string, unknown>;
  /** default GPU count */
  gpus: number;
  /** default time limit */
  timeLimitMs: number;
  /** live trackers offering it */
  trackers: string[];
  /** a service (a long-running server): its ports, readiness check and lifetime, as its manifest declares them; null for a batch executer */
  service: {
    ports: string[];
    ready: { tcp?: string; http?: { port: string; path: string }; stdout?: string };
    /** how long the service may take to become ready before it counts as failed to start */
    startTimeoutMs: number;
    /** the service is ended after this long with no client connection */
    idleTimeoutMs?: number;
    /** the service is ended this long after it started */
    maxAgeMs?: number;
    restart?: { count: number; backoffMs: number };
  } | null;
};

/** GET /v1/executers. */
export type ExecuterList = { executers: ExecuterOffer[] };

/** One queue. */
export type QueueView = {
  queue: string;
  /** tasks waiting for a tracker */
  depth: number;
  /** tasks taken and not yet ended */
  running: number;
  /** entries in the dead-letter stream */
  dead: number;
  /** how long the oldest waiting task has waited */
  oldestWaitingAgeMs: number | null;
  liveTrackers: number;
  /** the tasks waiting, by GPU count ("0": CPU tasks); a count none waits for is left out */
  waitingByGpus: Record<string, number>;
  /** tenant → its tasks waiting and running, their GPUs and its fair share (a user key: its own tenant only) */
  tenants: Record<
    string,
    {
      waiting: number;
      runningTasks: number;
      runningGpus: number;
      /** fair-share weight */
      weight: number;
      /** the most GPUs its running tasks may hold; null: no limit */
      maxRunningGpus: number | null;
      /** GPU-hours its tasks held, each halved per fair-share half-life that passed since */
      usageGpuHours: number;
      /** 1 = its tasks go first among waiting tasks of equal priority (lowest usage per weight) */
      fairShareRank: number;
    }
  >;
};

/** GET /v1/queues. */
export type QueueList = { queues: QueueView[] };

/** One minute of a queue’s history. */
export type QueueHistoryMinute = {
  /** the minute’s start, ms since the epoch */
  at: number;
  /** tasks that succeeded in the minute */
  succeeded: number;
  /** tasks that ended otherwise: failed, timed out, cancelled, dead */
  failed: number;
  /** tasks that started their first attempt */
  started: number;
  /** how long those had waited, on average; null: none started */
  waitMeanMs: number | null;
  /** 90th percentile of those waits */
  waitP90Ms: number | null;
  /** GPUs its running tasks held, mean of the minute’s samples; null: not sampled */
  gpusBusyMean: number | null;
  /** the most GPUs they held at a sample */
  gpusBusyMax: number | null;
  /** the GPUs of its live trackers at the last sample */
  gpusTotal: number | null;
};

/** GET /v1/queues/:queue/history: the queue’s last hour, minute by minute. */
export type QueueHistory = {
  queue: string;
  /** the last 60 minutes, oldest first; the last is under way */
  minutes: QueueHistoryMinute[];
  /** when this API process began sampling the GPUs in use (ms since the epoch): no GPU figures before it; the task counts go back an hour (as far as the events stream keeps it) */
  gpusSampledSince: number;
};

/** One tracker. */
export type TrackerView = {
  name: string;
  queue: string;
  host: string;
  /** heartbeat within three heartbeat periods */
  live: boolean;
  /** ISO 8601, UTC */
  lastHeartbeat: string;
  /** ISO 8601, UTC */
  startedAt: string;
  gpus: Array<{
    /** the nvidia-smi index: CUDA_VISIBLE_DEVICES, in PCI bus order */
    id: number;
    /** the task on it; null when free, or (user keys) another tenant’s */
    taskId: string | null;
    /** the tenant of the task on it; null when free, or another tenant’s */
    tenant: string | null;
    /** a user key: another tenant’s task runs here (its id and tenant are not shown); always false for an admin key */
    othersTask: boolean;
    /** the GPU as nvidia-smi described it when the tracker started; null when the tracker did not (an older tracker, or nvidia-smi could not list it) */
    device: {
      /** GPU-…, as nvidia-smi -L shows it; GPUFLEET_GPUS accepts it */
      uuid: string;
      /** domain:bus:device.function in hex: 00000000:3B:00.0 */
      pciBusId: string | null;
      /** the model: NVIDIA H100 80GB HBM3 */
      name: string;
      /** total memory, MiB */
      memoryMiB: number | null;
      /** CUDA compute capability: 9.0 (null from drivers before 510) */
      computeCapability: string | null;
      /** MIG mode; null for a GPU without MIG */
      migMode: 'enabled' | 'disabled' | null;
    } | null;
    /** the GPU’s latest usage sample (taken every GPUFLEET_GPU_SAMPLE_MS, published at each heartbeat); null when the tracker has none (sampling off or failing, or an older tracker); a value the GPU does not report is null */
    usage: {
      /** ISO 8601, UTC */
      sampledAt: string;
      /** nvidia-smi utilization.gpu: percent of the sample period a kernel ran */
      utilizationPercent: number | null;
      /** memory in use, by any process, MiB */
      memoryUsedMiB: number | null;
      /** core temperature, °C */
      temperatureC: number | null;
      /** power draw, W */
      powerW: number | null;
    } | null;
    /** why the tracker gives this GPU to no task now though none of its tasks holds it; null: it would. A user key gets no `processes`, and a `busy` or `settling` reason (and a `drained` one that names processes) in general words */
    hold: {
      /** busy: a process the tracker did not start uses it; settling: the processes of the task that last had it have not left it yet; drained: by an operator, or after a settle that timed out; unhealthy: a fault the driver reported */
      kind: 'busy' | 'settling' | 'drained' | 'unhealthy';
      reason: string;
      /** the compute processes on it that the tracker did not start */
      processes?: Array<{
        pid: number;
        name: string;
        /** GPU memory it uses, MiB */
        memoryMiB: number | null;
      }>;
    } | null;
  }>;
  /** why the tracker takes no new task (drained by an operator); null: it takes tasks */
  drained: string | null;
  /** how the tracker read its GPUs at start; null when it published nothing (GPUFLEET_GPUS=none, or an older tracker) */
  inventory: {
    /** the NVIDIA driver: 550.54.15 */
    driverVersion: string | null;
    /** the CUDA version the driver supports: 12.4 */
    cudaVersion: string | null;
    /** why nvidia-smi could not list the GPUs (not found, failed, timed out) */
    error: string | null;
  } | null;
  cpuSlots: number;
  /** ids of the tasks running on CPU slots (a user key: its own tenant’s only; cpuSlotTasks has every one) */
  cpuTasks: string[];
  /** one item per task running on a CPU slot, as a GPU shows its task */
  cpuSlotTasks: Array<{
    /** null: another tenant’s task (user keys) */
    taskId: string | null;
    /** null: another tenant’s task (user keys) */
    tenant: string | null;
    /** a user key: another tenant’s task runs here (its id and tenant are not shown); always false for an admin key */
    othersTask: boolean;
  }>;
  executers: string[];
};

/** GET /v1/trackers (user keys: other tenants’ tasks unnamed). */
export type TrackerList = { trackers: TrackerView[] };

/** POST /v1/trackers/:name/drain: the whole tracker, or one GPU (`gpu`). */
export type DrainRequest = {
  /** one GPU of the tracker, by its id in GET /v1/trackers (the nvidia-smi index); absent: the whole tracker */
  gpu?: number;
  /** why, for whoever reads the trackers (1-200 characters, no control characters); default "drained by an operator" */
  reason?: string;
};

/** POST /v1/trackers/:name/drain and /undrain (admin keys only): the tracker’s drains as stored. */
export type DrainState = {
  name: string;
  queue: string;
  /** the tracker runs (it applied the change at once); else at its next start */
  live: boolean;
  /** a drain: why, when and by whom; null: not drained */
  drained: {
    reason: string;
    /** ISO 8601, UTC */
    at: string;
    /** the name of the API key that drained it */
    by: string;
  } | null;
  /** each GPU of the tracker, with its own drain (a drained tracker drains them all) */
  gpus: Array<{
    id: number;
    /** a drain: why, when and by whom; null: not drained */
    drained: {
      reason: string;
      /** ISO 8601, UTC */
      at: string;
      /** the name of the API key that drained it */
      by: string;
    } | null;
  }>;
};

/** One queue of a retention sweep. */
export type GcQueueResult = {
  queue: string;
  /** task ids of the queue index read */
  scanned: number;
  /** finished tasks past their retention (in a dry run: would go) */
  due: number;
  /** of those, archived and removed from Redis (0 in a dry run) */
  removed: number;
  /** the ids of the tasks due, the first 1,000 */
  ids: string[];
};

/** POST /v1/admin/gc (admin keys only): the retention sweep run by hand. */
export type GcResult = { dryRun: boolean; queues: GcQueueResult[] };

/** GET /v1/me: the key’s tenant, role and name. */
export type Me = {
  /** the tenant the key belongs to: whose tasks it submits and lists */
  tenant: string;
  /** user: its tenant’s tasks; admin: also every tenant’s tasks, drains and gc */
  role: 'user' | 'admin';
  /** the key’s name in the keys file (GPUFLEET_API_TOKEN for the token) */
  keyName: string;
};

/** POST …/download-links: a file or the zip. */
export type DownloadLinkRequest =
  | {
      /** an output’s path, as in the manifest */
      path: string;
    }
  | {
      /** the zip of all the task’s outputs */
      zip: true;
    };

/** A link that needs no key until expiresAt. */
export type DownloadLink = {
  /** /v1/downloads/<token>, relative to the API: GET it with no key (a browser follows it as a plain link) */
  url: string;
  /** ISO 8601, UTC */
  expiresAt: string;
};

/** GET /healthz and GET /readyz. */
export type HealthStatus = { status: 'ok' };
