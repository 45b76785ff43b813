/**
 * @gpufleet/api-client: the typed client of the gpufleet web API (and the `gpufleet` command). It
 * loads in a browser as in Node: it uses `fetch` and imports no Node module. What needs Node's
 * file system (config files and profiles, `connect()`) is in `@gpufleet/api-client/node`;
 * `submit` with `inputs` and `task.download()` load their Node parts when called (Node only).
 *
 * @example
 * import { GpufleetClient } from '@gpufleet/api-client';
 *
 * const client = new GpufleetClient({ url: 'https://gpufleet.lab.example:8080', token });
 * const task = await client.submit({ executer: 'sph', params: { particles: 5000 }, gpus: 1, priority: 700 });
 * for await (const line of task.follow()) console.log(`[${line.stream}] ${line.text}`);
 * const done = await task.wait(); // done.status: 'succeeded' | 'failed' | ...
 *
 * // A service (an executer with a `service` block): its endpoints once its readiness check passed.
 * const server = await client.submit({ executer: 'sim-server' });
 * const { endpoints } = await server.waitForEndpoints({ timeoutMs: 120_000 }); // { control: 'host:20001' }
 * const manifest = await task.outputs(); // then client.openOutput(task.id, path)
 *
 * // In Node, also inputs streamed from disk and downloads into a folder:
 * const job = await client.submit({ executer: 'script', params: { script: 'train.sh' } }, { inputs: ['./job'] });
 * await job.wait();
 * await job.download('./results', { onProgress: (p) => console.log(p.path, p.bytes, p.totalBytes) });
 *
 * // or connect as the `gpufleet` command does (flags, GPUFLEET_* variables, profiles, local fleet):
 * // import { connect } from '@gpufleet/api-client/node';
 * // const client = await connect();
 */
export { GpufleetClient } from './client.js';
export type {
  ArchiveFilter,
  GpufleetClientOptions,
  ResubmitOptions,
  SubmitOptions,
  TaskFilter,
} from './client.js';
export type { DrainOptions } from './fleet/tracker-drains.js';
export {
  ApiRequestError,
  ApiUnreachableError,
  ConfigFileError,
  DownloadError,
  GpufleetClientError,
  InputError,
  NoApiConfiguredError,
  NodeOnlyError,
  StreamError,
  TaskEndedError,
  UsageError,
  WaitTimeoutError,
} from './errors.js';
export type { FieldIssue } from './errors.js';
export {
  API_ERROR_CODES,
  FINAL_STATUSES,
  TASK_STATUSES,
  PRIORITY_MAX,
  PRIORITY_MIN,
  TASK_FAILURE_CODES,
  WAIT_REASONS,
} from './generated/api-types.js';
export type {
  ApiErrorCode,
  CancelResult,
  DownloadLink,
  DownloadLinkRequest,
  DrainRequest,
  DrainState,
  ErrorBody,
  ExecuterList,
  ExecuterOffer,
  GcQueueResult,
  GcResult,
  HealthStatus,
  ListTasksQuery,
  Me,
  OutputFile,
  OutputManifest,
  OutputSummary,
  PriorityChange,
  QueueHistory,
  QueueHistoryMinute,
  QueueList,
  QueueView,
  ResubmitResult,
  SubmitResult,
  TaskFailureCode,
  TaskInput,
  TaskList,
  TaskSpec,
  TaskStatus,
  TaskSummary,
  TaskView,
  TrackerList,
  TrackerView,
  WaitReason,
} from './generated/api-types.js';
export { HttpClient } from './http/http-client.js';
export type { HttpClientOptions, RequestOptions, RetryNotice } from './http/http-client.js';
export { RETRY_DEFAULTS, RetryBudget } from './http/retry-budget.js';
export type { InputSource } from './inputs/input-files.js';
export type { UploadProgress } from './inputs/multipart-body.js';
export type {
  DownloadOptions,
  DownloadProgress,
  DownloadResult,
  DownloadedFile,
} from './outputs/download-outputs.js';
export { parseDuration } from './profiles/duration.js';
export { LOCAL_API_FILE } from './profiles/local-api-file.js';
export type { FollowLogsOptions } from './task/follow-logs.js';
export type {
  EndpointsListener,
  FollowEndpointsOptions,
  ServiceEndpoints,
  WaitForEndpointsOptions,
} from './task/service-endpoints.js';
export type {
  LogChunk,
  LogEnd,
  LogLine,
  LogStreamName,
  ProgressEvent,
  ServiceEvent,
  ServiceState,
  ServiceView,
  StatusEvent,
  StreamResync,
  TaskEvent,
} from './task/stream-events.js';
export { isFinalStatus } from './task/task-events.js';
export { SubmittedTask, TaskHandle } from './task/task-handle.js';
export type { LogText } from './task/task-handle.js';
export type { WaitOptions } from './task/wait-for-task.js';
