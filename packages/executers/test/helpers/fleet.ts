/**
 * In-process trackers loaded with the executer catalog, for tests: real Redis (from the testkit),
 * real executer processes, a local artifact store in a temp folder, short timings. Trackers are
 * configured the way an operator configures one, through the environment (loadTrackerConfig), and
 * built by createTracker, so these tests follow the tracker's public interface.
 */
import type { Redis } from 'ioredis';
import {
  enqueue,
  LocalArtifactStore,
  queueKeys,
  readArtifact,
  silentLogger,
  type ArtifactStore,
  type QueueKeys,
  type TaskRecord,
  waitForTaskEnd,
} from '@gpufleet/core';
import { CATALOG_DIR } from '@gpufleet/executers';
import { uniquePrefix, type RedisServer, type TempDirs } from '@gpufleet/testkit';
import { createTracker, loadTrackerConfig, type Tracker } from '@gpufleet/tracker';

export interface TestTrackerOptions {
  redisUrl: string;
  prefix: string;
  artifactDir: string;
  workDir: string;
  /** The tracker's GPU slots (GPUFLEET_GPUS); none: a CPU tracker. */
  gpuIds?: number[];
  /** GPUFLEET_ENABLE_OPT_IN_EXECUTERS. */
  allowOptInExecuters?: boolean;
}

export async function startTestTracker(options: TestTrackerOptions): Promise<Tracker> {
  const gpus = options.gpuIds ?? [];
  const config = loadTrackerConfig({
    REDIS_URL: options.redisUrl,
    REDIS_CONSUMER_NAME: 'tracker-a',
    GPUFLEET_PREFIX: options.prefix,
    GPUFLEET_EXECUTERS: CATALOG_DIR,
    GPUFLEET_GPUS: gpus.length === 0 ? 'none' : gpus.join(','),
    GPUFLEET_ENABLE_OPT_IN_EXECUTERS: String(options.allowOptInExecuters ?? false),
    ARTIFACT_STORE: options.artifactDir,
    GPUFLEET_WORKDIR: options.workDir,
    LOG_LEVEL: 'silent',
    GPUFLEET_LEASE_MS: '3000',
    GPUFLEET_HEARTBEAT_MS: '500',
    GPUFLEET_SWEEP_MS: '200',
    GPUFLEET_KILL_GRACE_MS: '1000',
    GPUFLEET_SHUTDOWN_GRACE_MS: '5000',
    GPUFLEET_BLOCK_MS: '1000',
  });
  const tracker = await createTracker(config, silentLogger());
  await tracker.start();
  return tracker;
}

export async function waitForFinal(
  redis: Redis,
  keys: QueueKeys,
  id: string,
  timeoutMs = 60_000,
): Promise<TaskRecord> {
  return waitForTaskEnd(redis, keys, id, { timeoutMs });
}

/** One tracker with the catalog on its own key prefix, and helpers to run tasks and read outputs. */
export interface CatalogFleet {
  tracker: Tracker;
  client: Redis;
  store: ArtifactStore;
  prefix: string;
  keys: QueueKeys;
  /** Enqueues a task and waits for its final status. */
  run(spec: Record<string, unknown>, options?: { id?: string }): Promise<TaskRecord>;
  /** The bytes of one output file of a finished task. */
  output(task: TaskRecord, path: string): Promise<Buffer>;
}

export async function startCatalogFleet(
  redis: { server: RedisServer },
  temp: TempDirs,
  options: Pick<TestTrackerOptions, 'gpuIds' | 'allowOptInExecuters'> = {},
): Promise<CatalogFleet> {
  const artifactDir = await temp.make();
  const prefix = uniquePrefix();
  const tracker = await startTestTracker({
    redisUrl: redis.server.url,
    prefix,
    artifactDir,
    workDir: await temp.make(),
    ...options,
  });
  const client = redis.server.client();
  const store = new LocalArtifactStore(artifactDir);
  const keys = queueKeys(prefix, 'default');
  return {
    tracker,
    client,
    store,
    prefix,
    keys,
    async run(spec, runOptions = {}) {
      const { id } = await enqueue({ redis: client, prefix }, spec, runOptions);
      return waitForFinal(client, keys, id);
    },
    output: (task, path) => readArtifact(store, `${task.outputs?.prefix}/${path}`),
  };
}
