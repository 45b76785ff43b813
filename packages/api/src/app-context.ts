/**
 * What the route plugins share: the connections and store passed to `buildApp`, and the services
 * built on them once per app (queue directory, task finder, queue positions, stream feeds,
 * metrics). Passed to each plugin as its options; nothing here reads globals.
 */
import type { Redis } from 'ioredis';
import type { ArtifactStore, Logger, RetentionPolicy } from '@gpufleet/core';
import type { TenantPolicy } from './auth/tenant-settings.js';
import type { QueueDirectory } from './fleet/queue-directory.js';
import type { FeedHub } from './follow/stream-feed.js';
import type { ApiMetrics } from './metrics/api-metrics.js';
import type { QueuePositions } from './tasks/queue-positions.js';
import type { TaskFinder } from './tasks/task-finder.js';
import type { QueueHistory } from './metrics/queue-history.js';

export interface ApiLimits {
  /** Largest body of POST /v1/tasks, multipart uploads included. */
  maxUploadBytes: number;
  /** Largest JSON body. */
  maxJsonBytes: number;
  /** Most input files in one submission. */
  maxInputs: number;
  /** Longest a `?wait=1` long-poll waits before answering with the current record. */
  maxWaitMs: number;
}

export const DEFAULT_LIMITS: ApiLimits = {
  maxUploadBytes: 10 * 1024 ** 3,
  maxJsonBytes: 1024 * 1024,
  maxInputs: 1000,
  maxWaitMs: 120_000,
};

/**
 * How output files are delivered: streamed through the API (default), or answered with a redirect
 * to a presigned URL when the store can make one (`ArtifactStore.presignedGetUrl`).
 */
export type OutputDelivery = 'stream' | 'redirect';

export interface ApiContext {
  redis: Redis;
  store: ArtifactStore;
  prefix: string;
  now: () => number;
  logger: Logger;
  limits: ApiLimits;
  /** Each tenant's settings (its quotas, its fair-share weight). */
  tenants: TenantPolicy;
  /** The priority of a task whose spec gives none, by queue. */
  defaultPriority: (queue: string) => number;
  /** The fair-share half-life, written with every task enqueued. */
  fairShareHalfLifeMs: number;
  /** How long finished tasks stay in Redis: what POST /v1/admin/gc sweeps by. */
  retention: RetentionPolicy;
  /** How long a task's live log stream stays once the task ended (core task-log-expiry.ts). */
  logGraceMs: number;
  outputDelivery: OutputDelivery;
  /** How long a presigned output URL works (redirect delivery). */
  presignExpiresMs: number;
  queues: QueueDirectory;
  finder: TaskFinder;
  positions: QueuePositions;
  feeds: FeedHub;
  metrics: ApiMetrics;
  /** Each queue's last hour, minute by minute (the dashboard's charts). */
  history: QueueHistory;
}
