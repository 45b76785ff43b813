/**
 * @gpufleet/core: the task protocol every gpufleet package shares.
 *
 * @example
 * import { connectRedis, enqueue, getTask, queueKeys } from '@gpufleet/core';
 * const redis = connectRedis('redis://127.0.0.1:6379');
 * const { id } = await enqueue({ redis, prefix: 'gf' }, { executer: 'sph', params: { steps: 200 }, gpus: 1 });
 * const task = await getTask(redis, queueKeys('gf', 'default'), id);
 */
export type {
  ArtifactInfo,
  ArtifactStore,
  DownloadOptions,
  FileDigest,
  PutResult,
} from './artifacts/artifact-store.js';
export { checkArtifactKey, isArtifactKey, joinKey } from './artifacts/artifact-key.js';
export { fileSourceOf } from './artifacts/file-source.js';
export type { FileSource } from './artifacts/file-source.js';
export { LocalArtifactStore } from './artifacts/local-store.js';
export { readArtifact } from './artifacts/read-artifact.js';
export { storeFile } from './artifacts/store-file.js';
export {
  artifactStoreSettingsFrom,
  DEFAULT_ARTIFACT_STORE,
  readArtifactStoreSettings,
} from './artifacts/artifact-store-settings.js';
export type {
  ArtifactStoreSettings,
  LocalStoreSettings,
  S3StoreSettings,
} from './artifacts/artifact-store-settings.js';
export { openArtifactStore } from './artifacts/open-artifact-store.js';
export { s3StoreOptionsFrom } from './artifacts/s3-config.js';
export type { S3StoreOptions } from './artifacts/s3-config.js';
export { MIN_PART_SIZE_BYTES, S3_STORE_DEFAULTS, S3ArtifactStore } from './artifacts/s3-store.js';
export type { S3ArtifactStoreOptions } from './artifacts/s3-store.js';
export { isTransientStoreError } from './artifacts/transient-store-error.js';
export { retryDelayMs, STORE_RETRY_DEFAULTS, withStoreRetry } from './artifacts/with-store-retry.js';
export type { StoreRetryOptions } from './artifacts/with-store-retry.js';
export {
  enqueue,
  idempotencyKeyHash,
  resolveGpuRequest,
  specHash,
  DEFAULT_QUEUE,
  EVENTS_MAX_LEN,
} from './enqueue.js';
export { SETTINGS_REWRITE_MS } from './settings-writes.js';
export type { EnqueueDeps, EnqueueOptions, EnqueueResult } from './enqueue.js';
export { EnvReader, parseDurationMs, readRedisUrl } from './env-reader.js';
export type { Env } from './env-reader.js';
export {
  ConfigError,
  ConsumerNameTakenError,
  GpufleetError,
  IdempotencyConflictError,
  InfraError,
  ManifestError,
  NotFoundError,
  PathEscapeError,
  QuotaExceededError,
  UnknownExecuterError,
  ValidationError,
} from './errors.js';
export type { FieldIssue } from './errors.js';
export { CATALOG_CACHE_MS, catalogFor, publishCatalog, readCatalog } from './executer-catalog.js';
export type { CatalogEntry } from './executer-catalog.js';
export { buildArgv } from './executers/build-argv.js';
export type { Argv, ArgvContext } from './executers/build-argv.js';
export { paramsValidatorFor } from './executers/catalog-params.js';
export {
  DEFAULT_TIME_LIMIT_MS,
  ExecuterManifestSchema,
  parseManifest,
} from './executers/executer-manifest.js';
export type { ExecuterManifest } from './executers/executer-manifest.js';
export { loadExecuters, MANIFEST_FILE } from './executers/load-executers.js';
export type { LoadedExecuter, LoadedExecuters, SkippedExecuter } from './executers/load-executers.js';
export {
  DEFAULT_START_TIMEOUT_MS,
  MAX_SERVICE_DURATION_MS,
  MAX_SERVICE_PORTS,
  PORT_NAME_PATTERN,
  readyPort,
  ServiceSchema,
} from './executers/service-manifest.js';
export type { ServiceReadyCheck, ServiceSpec } from './executers/service-manifest.js';
export { validateParams } from './executers/task-params.js';
export type { ParamsValidator } from './executers/task-params.js';
export { newTaskId, newToken, TASK_ID_PATTERN } from './ids.js';
export { checkInputName, inputNameProblem } from './input-names.js';
export {
  checkName,
  downloadLinkKey,
  KEY_SLOT,
  keyTemplate,
  MAX_TASK_GPUS,
  queueKeys,
  requeuedStreamOf,
  schedulingKeys,
  waitSetName,
  parseWaitSetName,
  waitClass,
  TRACKER_GROUP,
} from './keys.js';
export type { QueueKeys } from './keys.js';
export { createLogger, LOG_LEVELS, silentLogger } from './logger.js';
export type { Logger, LoggerOptions, LogLevel } from './logger.js';
export { OutageReporter } from './outage-reporter.js';
export { connectRedis, RECONNECT_MAX_MS, reconnectDelayMs, waitReady } from './redis-connection.js';
export { backoffMs } from './backoff.js';
export { closeRedis } from './close-redis.js';
export type { RedisClosed } from './close-redis.js';
export { isRedisUnavailable } from './redis-errors.js';
export { settlesWithin } from './settles-within.js';
export { untilAborted } from './until-aborted.js';
export { abortableSleep, loopUntilAborted } from './loop-until-aborted.js';
export type { LoopOptions } from './loop-until-aborted.js';
export type { RedisConnectOptions } from './redis-connection.js';
export { discoverQueues, listRegisteredQueues, queueRegistryKey, registerQueue } from './queue-registry.js';
export { readQueueStats, readStreamGpuCounts, readTaskStreams } from './queue-stats.js';
export {
  claimReply,
  entriesReply,
  hashReply,
  streamReadReply,
  stringsReply,
  valuesReply,
  wordReply,
  xinfoGroups,
  xinfoStream,
  xinfoStreamWindow,
  xpendingRange,
  xpendingSummary,
} from './redis-replies.js';
export type {
  ClaimReply,
  GroupInfo,
  PendingEntry,
  PendingRange,
  PendingSummary,
  StreamEntry,
  StreamInfo,
  StreamReadReply,
  StreamWindow,
} from './redis-replies.js';
export type { QueueStats, TaskStreamState } from './queue-stats.js';
export { fieldArgs, generatedLua, luaLib, luaScript, SCRIPT_NAMES } from './scripts.js';
export { loadScript, loadScripts, NEEDS_REDIS_7, runScript } from './run-script.js';
export { announceFunctions, FUNCTIONS_KEEP_MS, pruneFunctions } from './function-versions.js';
export { FUNCTION_NAME_PATTERN } from './lua-library.js';
export { argvHead } from './protocol/argv-head.js';
export type { ArgvHead } from './protocol/argv-head.js';
export type { ScriptName } from './scripts.js';
export type { ScriptArg } from './run-script.js';
export {
  compareEntryIds,
  entryFields,
  entryIdMs,
  isEntryId,
  parseLogChunk,
  parseTaskEvent,
} from './stream-entries.js';
export type { LogChunk, LogStreamName, TaskEvent } from './stream-entries.js';
export { entriesLostAfter } from './stream-gap.js';
export { DEFAULT_LOG_GRACE_MS, expireTaskLog, readLogGraceMs } from './task-log-expiry.js';
export { compareWaiting, WAITING_KINDS } from './scheduling-order.js';
export type { WaitingEntry, WaitingKind } from './scheduling-order.js';
export {
  DEFAULT_PRIORITY,
  PRIORITY_MAX,
  PRIORITY_MIN,
  priorityIssue,
  TaskPrioritySchema,
} from './task-priority.js';
export {
  DEFAULT_HALF_LIFE_MS,
  DEFAULT_WEIGHT,
  fairShareRank,
  HALF_LIFE_FIELD,
  parseSettingsValue,
  readFairShare,
  settingsValue,
  shareOf,
  usageAt,
} from './fair-share.js';
export type { SchedulingSettings, TenantShare } from './fair-share.js';
export {
  describeGpuRequest,
  GPU_MODEL_PATTERN,
  gpuModelMatches,
  gpuRequestSuffix,
  gpuSatisfies,
  isGpuRequest,
  MAX_GPU_MODELS,
  normalizeGpuName,
  parseGpuRequestSuffix,
} from './gpu-request.js';
export type { GpuGroup, GpuRequest, RequestedGpu } from './gpu-request.js';
export {
  capacityShortfall,
  LIVE_TRACKERS_CACHE_MS,
  liveTrackersFor,
  satisfyingGpus,
} from './fleet-capacity.js';
export type { CapacityNeed } from './fleet-capacity.js';
export { setTaskPriority } from './protocol/priority-change.js';
export { indexWaiting } from './protocol/index-waiting.js';
export type { PriorityChange } from './protocol/priority-change.js';
export { preemptFor, PREEMPTION_MARGIN_MS } from './protocol/preemption.js';
export type { PreemptRequest, PreemptResult } from './protocol/preemption.js';
export {
  ISSUE_REASONS,
  tagKeyProblem,
  TASK_NAME_MAX_LENGTH,
  TASK_TAG_KEY_PATTERN,
  TASK_TAG_VALUE_MAX_LENGTH,
  TASK_TAGS_MAX,
  TaskNameSchema,
  TaskTagsSchema,
} from './task-labels.js';
export { attemptPrefix, getTask, inputsPrefix, parseTaskRecord } from './task-record.js';
export type { OutputFile, OutputManifest, TaskRecord } from './task-record.js';
export { isTaskFailureCode, TASK_FAILURE_CODES, TASK_FAILURES } from './task-failures.js';
export type { TaskFailureCode } from './task-failures.js';
export {
  DEFAULT_MAX_ATTEMPTS,
  parseTaskSpec,
  pointerToField,
  schemaIssues,
  SlurmResourcesSchema,
  TaskInputSchema,
  TaskSpecSchema,
} from './task-spec.js';
export type { RetryBackoff, SlurmResources, TaskInput, TaskSpec } from './task-spec.js';
export {
  canTransition,
  FINAL_STATUSES,
  INITIAL_STATUS,
  isFinal,
  isTaskStatus,
  TASK_STATUSES,
} from './task-status.js';
export type { TaskStatus } from './task-status.js';
export { readTenantAccounts, recountTenantAccounts, snapshotTenantAccounts } from './tenant-accounts.js';
export type { AccountedTask, TenantAccount, TenantAccounts } from './tenant-accounts.js';
export { renewLease, takeTask } from './protocol/claims.js';
export type {
  Claim,
  ClaimOutcome,
  ClaimResult,
  RenewResult,
  TakeRequest,
  TakeResult,
} from './protocol/claims.js';
export { promoteDelayed, releaseTask, requeueOrphan, settleEntry } from './protocol/requeues.js';
export type { OrphanRequest, OrphanResult, ReleaseOptions, SettleResult } from './protocol/requeues.js';
export { cancelTask, completeTask, deadLetterQueued, setTaskStatus } from './protocol/status-writes.js';
export type { CancelResult, Fields } from './protocol/status-writes.js';
export { isLive, listLiveTrackers, listTrackers } from './tracker-registry.js';
export {
  clearDrain,
  DEFAULT_DRAIN_REASON,
  DRAIN_COMMANDS,
  DRAIN_REASON_MAX,
  drainedGpusOf,
  drainField,
  readDrains,
  setDrain,
} from './tracker-drains.js';
export type { DrainRecord, TrackerDrainState } from './tracker-drains.js';
export { waitForTaskEnd } from './wait-for-task.js';
export type { TaskStatusEvent, WaitForTaskOptions } from './wait-for-task.js';
export type {
  GpuDevice,
  GpuHoldInfo,
  GpuInventory,
  GpuSample,
  GpuStats,
  TrackerInfo,
} from './tracker-registry.js';
export {
  ARCHIVE_ROOT,
  archiveDay,
  archivedDayPrefix,
  archivedTaskKey,
  archiveTask,
  listArchivedDay,
  readArchivedTask,
} from './retention/task-archive.js';
export type { ArchivedSummary, ArchivedTask } from './retention/task-archive.js';
export {
  DEFAULT_RETENTION,
  parseRetention,
  parseTenantRetention,
  readRetentionPolicy,
  retentionOf,
  shortestRetention,
} from './retention/retention-policy.js';
export type { RetentionByStatus, RetentionPolicy } from './retention/retention-policy.js';
export { RETENTION_BATCH, sweepCaughtUp, sweepFinished } from './retention/retention-sweep.js';
export type { SweepOptions, SweepResult } from './retention/retention-sweep.js';
export { MEMORY_SAMPLE, readQueueMemory } from './retention/queue-memory.js';
export { listOutputsDue, sweepOutputs } from './retention/outputs-retention.js';
export type { OutputsSweepOptions } from './retention/outputs-retention.js';
export type { QueueMemory } from './retention/queue-memory.js';
export { forgetTasks } from './protocol/forget.js';
export { setServiceState } from './protocol/service-writes.js';
export type { ServiceChange } from './protocol/service-writes.js';
export { isServiceState, parseServiceStatus, SERVICE_LIVE_FIELDS, SERVICE_STATES } from './service-state.js';
export type { ServiceEndpoints, ServiceState, ServiceStatus } from './service-state.js';
export { EVENTS_RETENTION_MS, trimHistoryStreams } from './retention/stream-trim.js';
