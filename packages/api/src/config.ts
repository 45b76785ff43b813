/**
 * The API server's configuration, read once at start-up from the environment, validated as a
 * whole (every bad variable reported at once, the artifact store's ARTIFACT_STORE, ARTIFACT_FSYNC,
 * S3_* and AWS_* included) and frozen. dotenv is loaded only by the bin. The scheduling settings
 * (default priorities, the fair-share half-life, the running-GPU quota) are the API's because the
 * API writes them with every task it enqueues; the trackers read them from Redis. The retention
 * policy (GPUFLEET_RETENTION, GPUFLEET_TENANT_RETENTION) is what POST /v1/admin/gc sweeps by: give
 * the API the trackers' values, or a by-hand run removes tasks on another schedule than theirs.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  checkName,
  DEFAULT_ARTIFACT_STORE,
  DEFAULT_HALF_LIFE_MS,
  DEFAULT_PRIORITY,
  EnvReader,
  LOG_LEVELS,
  readArtifactStoreSettings,
  readRedisUrl,
  readLogGraceMs,
  readRetentionPolicy,
  type ArtifactStoreSettings,
  type Env,
  type LogLevel,
  type RetentionPolicy,
  PRIORITY_MAX,
  PRIORITY_MIN,
} from '@gpufleet/core';
import { readQueuePriorities } from './tasks/queue-priorities.js';

export interface ApiConfig {
  redisUrl: string;
  /** Key prefix of the fleet (`gf`). */
  prefix: string;
  /** ARTIFACT_STORE as given: a folder path, a file:// URL or s3://bucket/prefix. */
  artifactStore: string;
  /** The store ARTIFACT_STORE names, with ARTIFACT_FSYNC or the S3_* and AWS_* settings: openArtifactStore's argument. */
  artifactStoreSettings: ArtifactStoreSettings;
  port: number;
  host: string;
  /** JSON file of hashed API keys (see docs/api.md), or null. */
  keysFile: string | null;
  /** One plain key for a local fleet (tenant `default`, role admin), or null. */
  token: string | null;
  /** Largest request body accepted by POST /v1/tasks (multipart uploads included). */
  maxUploadBytes: number;
  /** Answer output downloads with a redirect to a presigned URL when the store can make one. */
  outputRedirect: boolean;
  /** How long such a presigned URL works. */
  presignExpiresMs: number;
  /**
   * The most tasks a tenant may have waiting in one queue, for tenants whose keys-file entry
   * (`tenants.<name>.maxWaitingTasks`) sets none; null: no limit.
   */
  maxWaitingTasks: number | null;
  /** The priority of a task whose spec gives none, in a queue `queuePriorities` does not name. */
  defaultPriority: number;
  /** Queue → the priority of its tasks whose spec gives none (GPUFLEET_QUEUE_PRIORITIES). */
  queuePriorities: ReadonlyMap<string, number>;
  /** The fair-share half-life: a tenant's past GPU use counts half after this long. */
  fairShareHalfLifeMs: number;
  /**
   * The most GPUs a tenant's running tasks may hold at once in one queue, for tenants whose
   * keys-file entry (`tenants.<name>.maxRunningGpus`) sets none; null: no limit.
   */
  maxRunningGpus: number | null;
  /** How long finished tasks stay in Redis: what POST /v1/admin/gc archives and removes. */
  retention: RetentionPolicy;
  /**
   * How long the live log stream of a task cancelled through the API while it waited (a retry, or
   * a requeue after its tracker died) stays; GPUFLEET_LOG_GRACE_MS, as the trackers read it.
   */
  logGraceMs: number;
  logLevel: LogLevel;
  /**
   * GPUFLEET_DASHBOARD_DIR: the built dashboard to serve under `/` (a folder with index.html);
   * undefined: packages/dashboard/dist when built; null (`none`): no dashboard.
   */
  dashboardDir?: string | null;
}

export const API_DEFAULTS = {
  prefix: 'gf',
  port: 8080,
  host: '127.0.0.1',
  /** 10 GiB. */
  maxUploadBytes: 10 * 1024 ** 3,
  /** 15 minutes. */
  presignExpiresMs: 15 * 60_000,
  /** 500: the middle of 0-1000 (core's DEFAULT_PRIORITY). */
  defaultPriority: DEFAULT_PRIORITY,
  /** One hour (core's DEFAULT_HALF_LIFE_MS). */
  fairShareHalfLifeMs: DEFAULT_HALF_LIFE_MS,
} as const;

/** The shortest GPUFLEET_API_TOKEN accepted: a guessable token is worse than none. */
export const MIN_TOKEN_LENGTH = 16;

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** GPUFLEET_DASHBOARD_DIR: `none`, or a folder that holds a built dashboard (its index.html). */
function readDashboardDir(r: EnvReader, cwd: string): string | null | undefined {
  const given = r.raw('GPUFLEET_DASHBOARD_DIR');
  if (given === undefined || given === '') return undefined;
  if (given === 'none') return null;
  const dir = resolve(cwd, given);
  if (!existsSync(join(dir, 'index.html'))) {
    r.fail(
      'GPUFLEET_DASHBOARD_DIR',
      `must be a built dashboard, a folder with index.html, or none (got "${given}")`,
    );
  }
  return dir;
}

/** Parses `1048576`, `500MB`, `10GiB` into bytes; null when it is not a size. */
export function parseByteSize(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match ? SIZE_UNITS[(match[2] ?? '').toLowerCase()] : undefined;
  if (!match || unit === undefined) return null;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

export function loadApiConfig(env: Env = process.env, cwd = process.cwd()): ApiConfig {
  const r = new EnvReader(env);
  const name = (v: string): string | null => checkName(v);
  const keysFile = r.string('GPUFLEET_API_KEYS_FILE');
  const token = r.string('GPUFLEET_API_TOKEN', undefined, (v) =>
    v.length >= MIN_TOKEN_LENGTH ? null : `must be at least ${MIN_TOKEN_LENGTH} characters`,
  );
  if (keysFile === undefined && token === undefined) {
    r.fail('GPUFLEET_API_KEYS_FILE', 'is required unless GPUFLEET_API_TOKEN is set: the API never runs open');
  }
  let maxUploadBytes: number = API_DEFAULTS.maxUploadBytes;
  const sizeText = r.raw('GPUFLEET_API_MAX_UPLOAD_BYTES');
  if (sizeText !== undefined) {
    const size = parseByteSize(sizeText);
    if (size === null || size < 1024) {
      r.fail(
        'GPUFLEET_API_MAX_UPLOAD_BYTES',
        `must be a size of at least 1024 bytes such as 500MB or 10GiB (got "${sizeText}")`,
      );
    } else maxUploadBytes = size;
  }
  const artifactStore = r.string('ARTIFACT_STORE', DEFAULT_ARTIFACT_STORE);
  const config: ApiConfig = {
    redisUrl: readRedisUrl(r),
    prefix: r.string('GPUFLEET_PREFIX', API_DEFAULTS.prefix, name),
    artifactStore,
    artifactStoreSettings: readArtifactStoreSettings(r, artifactStore, cwd),
    port: r.int('GPUFLEET_API_PORT', API_DEFAULTS.port, { min: 0, max: 65535 }),
    host: r.string('GPUFLEET_API_HOST', API_DEFAULTS.host),
    keysFile: keysFile === undefined ? null : resolve(cwd, keysFile),
    token: token ?? null,
    maxUploadBytes,
    outputRedirect: r.bool('GPUFLEET_API_OUTPUT_REDIRECT', false),
    presignExpiresMs: r.int('GPUFLEET_API_PRESIGN_EXPIRES_MS', API_DEFAULTS.presignExpiresMs, {
      min: 1000,
      max: 7 * 86_400_000,
    }),
    maxWaitingTasks:
      r.raw('GPUFLEET_MAX_WAITING_TASKS') === undefined
        ? null
        : r.int('GPUFLEET_MAX_WAITING_TASKS', 0, { min: 0 }),
    defaultPriority: r.int('GPUFLEET_DEFAULT_PRIORITY', API_DEFAULTS.defaultPriority, {
      min: PRIORITY_MIN,
      max: PRIORITY_MAX,
    }),
    queuePriorities: readQueuePriorities(r),
    fairShareHalfLifeMs: r.int('GPUFLEET_FAIRSHARE_HALF_LIFE_MS', API_DEFAULTS.fairShareHalfLifeMs, {
      min: 1,
    }),
    maxRunningGpus:
      r.raw('GPUFLEET_MAX_RUNNING_GPUS') === undefined
        ? null
        : r.int('GPUFLEET_MAX_RUNNING_GPUS', 0, { min: 0 }),
    retention: readRetentionPolicy(r),
    logGraceMs: readLogGraceMs(r),
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    dashboardDir: readDashboardDir(r, cwd),
  };
  r.done();
  return Object.freeze(config);
}
