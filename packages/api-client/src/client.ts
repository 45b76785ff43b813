/**
 * `GpufleetClient`: a typed method for every route of the gpufleet API (docs/api.md). Requests
 * retry with backoff on connection errors and 503s; `submit()` sends an `Idempotency-Key` of its
 * own making, so a retried submission never makes two tasks, and streams input files from disk.
 * It runs wherever `fetch` does (Node, a browser): reading inputs from disk is loaded only when a
 * submission has some (node-only.ts).
 */
import type {
  CancelResult,
  DownloadLink,
  DownloadLinkRequest,
  DrainState,
  ExecuterList,
  GcResult,
  HealthStatus,
  ListTasksQuery,
  Me,
  PriorityChange,
  QueueHistory,
  QueueList,
  ResubmitResult,
  SubmitResult,
  TaskList,
  TaskSpec,
  TaskSummary,
  TaskView,
  TrackerList,
} from './generated/api-types.js';
import { drainRequest, type DrainOptions } from './fleet/tracker-drains.js';
import { HttpClient, type HttpClientOptions } from './http/http-client.js';
import type { InputSource } from './inputs/input-files.js';
import type { UploadProgress } from './inputs/multipart-body.js';
import { nodeOnly } from './node-only.js';
import { downloadLinkRequest } from './outputs/download-links.js';
import { outputUrlPath } from './outputs/output-url.js';
import { randomUuid } from './http/random-uuid.js';
import { resubmitTask, type ResubmitOptions } from './task/resubmit-task.js';
import type {
  EndpointsListener,
  FollowEndpointsOptions,
  ServiceEndpoints,
  WaitForEndpointsOptions,
} from './task/service-endpoints.js';
import type { StatusEvent } from './task/stream-events.js';
import { filterQuery, type ArchiveFilter, type TaskFilter } from './task/task-filter.js';
import { SubmittedTask, TaskHandle } from './task/task-handle.js';

export type { ResubmitOptions } from './task/resubmit-task.js';
export type { ArchiveFilter, TaskFilter } from './task/task-filter.js';

export type GpufleetClientOptions = HttpClientOptions;

export interface SubmitOptions {
  /** Folders (sent as their contents) and files (by base name) for the task's inputs folder. */
  inputs?: readonly InputSource[];
  /** Default: the spec's `idempotencyKey`, else a new random key (kept across retries). */
  idempotencyKey?: string;
  onUploadProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
}

export class GpufleetClient {
  readonly http: HttpClient;

  constructor(options: GpufleetClientOptions) {
    this.http = new HttpClient(options);
  }

  /** The API's base URL. */
  get url(): string {
    return this.http.baseUrl;
  }

  /** A handle on an existing task. */
  task(id: string): TaskHandle {
    return new TaskHandle(this.http, id);
  }

  /** Submits a task, uploading `inputs` (streamed) when given. */
  async submit(spec: TaskSpec, options: SubmitOptions = {}): Promise<SubmittedTask> {
    const key = options.idempotencyKey ?? spec.idempotencyKey ?? randomUuid();
    const headers = { 'idempotency-key': key };
    const sources = options.inputs ?? [];
    const collectInputs =
      sources.length > 0
        ? await nodeOnly(
            'submit with inputs',
            async () => (await import('./inputs/input-files.js')).collectInputs,
          )
        : null;
    const files = collectInputs ? await collectInputs(sources) : [];
    let result: SubmitResult;
    if (files.length === 0) {
      result = await this.http.json<SubmitResult>('/v1/tasks', {
        method: 'POST',
        json: spec,
        headers,
        signal: options.signal,
      });
    } else {
      const multipartBody = await nodeOnly(
        'submit with inputs',
        async () => (await import('./inputs/multipart-body.js')).multipartBody,
      );
      const body = multipartBody(spec, files, options.onUploadProgress);
      const response = await this.http.request('/v1/tasks', {
        method: 'POST',
        body: body.make,
        bodyFailure: body.failure,
        headers: { ...headers, accept: 'application/json' },
        signal: options.signal,
      });
      result = (await response.json()) as SubmitResult;
    }
    return new SubmittedTask(this.http, result, key);
  }

  /**
   * Submits task `id` again: a new task with the spec and input files it was submitted with, for
   * its tenant (any tenant's task with an admin key). The old task stays as it is.
   */
  async resubmit(id: string, options: ResubmitOptions = {}): Promise<SubmittedTask<ResubmitResult>> {
    return resubmitTask(this.http, id, options);
  }

  async getTask(id: string, options: { signal?: AbortSignal } = {}): Promise<TaskView> {
    return this.task(id).get(options);
  }

  /** A service task's endpoints once it is ready (`TaskEndedError` if it ends first; see TaskHandle). */
  async waitForEndpoints(id: string, options: WaitForEndpointsOptions = {}): Promise<ServiceEndpoints> {
    return this.task(id).waitForEndpoints(options);
  }

  /** Each change of a service task's endpoints (null: withdrawn) until its final status. */
  async followEndpoints(
    id: string,
    onChange: EndpointsListener,
    options: FollowEndpointsOptions = {},
  ): Promise<StatusEvent> {
    return this.task(id).followEndpoints(onChange, options);
  }

  /**
   * One page of the caller's tasks (with an admin key, `tenant`'s or `'*'` every tenant's), newest
   * first (follow `nextCursor`; it may be short).
   */
  async listTasks(query: ListTasksQuery = {}, options: { signal?: AbortSignal } = {}): Promise<TaskList> {
    return this.http.json<TaskList>('/v1/tasks', { query: { ...query }, signal: options.signal });
  }

  /** Every task matching the filter (`tenant`: whose, see TaskFilter), newest first, across pages. */
  async *tasks(filter: TaskFilter = {}, options: { signal?: AbortSignal } = {}): AsyncGenerator<TaskSummary> {
    yield* this.#allPages(filter, {}, options);
  }

  /**
   * Every archived task (it ended long enough ago to leave Redis) that ended within the range and
   * matches the filter: by the day it ended, newest first, across pages. Each can be read by id
   * (`getTask`: `archived: true`) and its outputs downloaded as before.
   */
  async *archivedTasks(
    filter: ArchiveFilter,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<TaskSummary> {
    // Its `from` and `to` (filterQuery) bound when the tasks ended.
    yield* this.#allPages(filter, { archived: true }, options);
  }

  async *#allPages(
    filter: TaskFilter,
    extra: ListTasksQuery,
    options: { signal?: AbortSignal },
  ): AsyncGenerator<TaskSummary> {
    let cursor: string | undefined;
    do {
      const page = await this.listTasks({ ...extra, ...filterQuery(filter), limit: 200, cursor }, options);
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  async cancel(id: string, options: { signal?: AbortSignal } = {}): Promise<CancelResult> {
    return this.task(id).cancel(options);
  }

  /** Changes a waiting task's priority (0-1000, higher first); `TASK_NOT_WAITING` once it runs. */
  async setPriority(
    id: string,
    priority: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<PriorityChange> {
    return this.task(id).setPriority(priority, options);
  }

  /** An output file as a response (pass `range` as `bytes=a-b` for part of it). */
  async openOutput(id: string, path: string, options: { range?: string; signal?: AbortSignal } = {}) {
    return this.http.request(outputUrlPath(id, path), {
      headers: options.range ? { range: options.range } : {},
      signal: options.signal,
    });
  }

  /** All outputs (or `files`) as a zip, streamed while the API builds it. */
  async openOutputsZip(
    id: string,
    options: { files?: readonly string[]; compress?: boolean; signal?: AbortSignal } = {},
  ): Promise<Response> {
    return this.http.request(`/v1/tasks/${encodeURIComponent(id)}/outputs.zip`, {
      query: { files: options.files, compress: options.compress },
      signal: options.signal,
    });
  }

  /**
   * A link to an output file (`{ path }`) or the outputs zip (`{ zip: true }`) that downloads it
   * without the key for a minute (`expiresAt`), as often as asked: for a browser to follow.
   * `url` is relative to the API (`new URL(link.url, client.url)`).
   */
  async downloadLink(
    id: string,
    target: DownloadLinkRequest,
    options: { signal?: AbortSignal } = {},
  ): Promise<DownloadLink> {
    return downloadLinkRequest(this.http, id, target, options);
  }

  async executers(options: { queue?: string; signal?: AbortSignal } = {}): Promise<ExecuterList> {
    return this.http.json<ExecuterList>('/v1/executers', {
      query: { queue: options.queue },
      signal: options.signal,
    });
  }

  async queues(options: { queue?: string; signal?: AbortSignal } = {}): Promise<QueueList> {
    return this.http.json<QueueList>('/v1/queues', {
      query: { queue: options.queue },
      signal: options.signal,
    });
  }

  /** A queue's last hour, minute by minute: tasks ended and started, their waits, GPUs busy. */
  async queueHistory(queue: string, options: { signal?: AbortSignal } = {}): Promise<QueueHistory> {
    return this.http.json<QueueHistory>(`/v1/queues/${encodeURIComponent(queue)}/history`, options);
  }

  /**
   * Every tracker, its GPUs and the tasks on them. A user key sees its own tenant's tasks; where
   * another tenant's runs, `othersTask` is true and its id and tenant are null.
   */
  async trackers(options: { queue?: string; signal?: AbortSignal } = {}): Promise<TrackerList> {
    return this.http.json<TrackerList>('/v1/trackers', {
      query: { queue: options.queue },
      signal: options.signal,
    });
  }

  /**
   * Drains tracker `tracker` (admin keys only): it finishes what it runs and takes nothing new; with
   * `gpu`, only that GPU. It lasts, across the tracker's restarts, until `undrain`. `queue`: needed
   * only when trackers of that name serve several queues.
   */
  async drain(tracker: string, options: DrainOptions = {}): Promise<DrainState> {
    return drainRequest(this.http, tracker, 'drain', options);
  }

  /** Takes back the drain of tracker `tracker` (admin keys only), or with `gpu` of that GPU. */
  async undrain(tracker: string, options: Omit<DrainOptions, 'reason'> = {}): Promise<DrainState> {
    return drainRequest(this.http, tracker, 'undrain', options);
  }

  /**
   * Archives and removes the finished tasks past their retention, in every queue or `queue`
   * (admin keys only); `dryRun` only lists them. `limit`: per queue, stop after about this many.
   */
  async gc(
    options: { dryRun?: boolean; queue?: string; limit?: number; signal?: AbortSignal } = {},
  ): Promise<GcResult> {
    return this.http.json<GcResult>('/v1/admin/gc', {
      method: 'POST',
      query: { dryRun: options.dryRun, queue: options.queue, limit: options.limit },
      signal: options.signal,
    });
  }

  /** The key's tenant, role and name. */
  async me(options: { signal?: AbortSignal } = {}): Promise<Me> {
    return this.http.json<Me>('/v1/me', { signal: options.signal });
  }

  /** Whether the API process runs (no retries: an answer now or an error). */
  async health(): Promise<HealthStatus> {
    return this.http.json<HealthStatus>('/healthz', { retry: false });
  }

  /** Whether the API can reach Redis (no retries). */
  async ready(): Promise<HealthStatus> {
    return this.http.json<HealthStatus>('/readyz', { retry: false });
  }
}
