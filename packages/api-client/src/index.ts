/**
 * @gpufleet/api-client: the typed client of the gpufleet web API (and the `gpufleet` command).
 *
 * @example
 * import { GpufleetClient } from '@gpufleet/api-client';
 *
 * const client = new GpufleetClient({ url: 'http://127.0.0.1:8080', token: process.env.GPUFLEET_TOKEN });
 * const task = await client.submit(
 *   { executer: 'script', params: { script: 'train.sh' }, gpus: 1 },
 *   { inputs: ['./job'] }, // the folder's files, streamed from disk
 * );
 * for await (const line of task.follow()) console.log(`[${line.stream}] ${line.text}`);
 * const done = await task.wait(); // done.status: 'succeeded' | 'failed' | ...
 * await task.download('./results', { onProgress: (p) => console.log(p.path, p.bytes, p.totalBytes) });
 *
 * // or connect as the `gpufleet` command does (flags, GPUFLEET_* variables, profiles, local fleet):
 * // const client = await connect();
 */
export { GpufleetClient } from './client.js';
export type { GpufleetClientOptions, SubmitOptions, TaskFilter } from './client.js';
export { connect } from './connect.js';
export {
  ApiRequestError,
  ApiUnreachableError,
  ConfigFileError,
  DownloadError,
  GpufleetClientError,
  InputError,
  NoApiConfiguredError,
  StreamError,
  UsageError,
  WaitTimeoutError,
} from './errors.js';
export type { FieldIssue } from './errors.js';
export { API_ERROR_CODES, FINAL_STATUSES } from './generated/api-types.js';
export type {
  ApiErrorCode,
  CancelResult,
  ErrorBody,
  ExecuterList,
  ExecuterOffer,
  HealthStatus,
  ListTasksQuery,
  OutputFile,
  OutputManifest,
  OutputSummary,
  QueueList,
  QueueView,
  SubmitResult,
  TaskInput,
  TaskList,
  TaskSpec,
  TaskStatus,
  TaskSummary,
  TaskView,
  TrackerList,
  TrackerView,
} from './generated/api-types.js';
export { HttpClient } from './http/http-client.js';
export type { HttpClientOptions, RequestOptions, RetryNotice } from './http/http-client.js';
export { RETRY_DEFAULTS, RetryBudget } from './http/retry-budget.js';
export { collectInputs } from './inputs/input-files.js';
export type { InputFile, InputSource } from './inputs/input-files.js';
export type { UploadProgress } from './inputs/multipart-body.js';
export type {
  DownloadOptions,
  DownloadProgress,
  DownloadResult,
  DownloadedFile,
} from './outputs/download-outputs.js';
export { parseDuration } from './profiles/duration.js';
export type { Profile } from './profiles/profile-file.js';
export {
  findLocalApiFile,
  LOCAL_API_FILE,
  resolveConnection,
  userConfigFile,
} from './profiles/resolve-connection.js';
export type { Connection, ResolveOptions, SubmitDefaults } from './profiles/resolve-connection.js';
export type { FollowLogsOptions } from './task/follow-logs.js';
export type {
  LogChunk,
  LogEnd,
  LogLine,
  LogStreamName,
  ProgressEvent,
  StatusEvent,
  TaskEvent,
} from './task/stream-events.js';
export { isFinalStatus } from './task/task-events.js';
export { SubmittedTask, TaskHandle } from './task/task-handle.js';
export type { LogText } from './task/task-handle.js';
export type { WaitOptions } from './task/wait-for-task.js';
