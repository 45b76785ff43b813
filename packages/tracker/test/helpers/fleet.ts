/**
 * In-process trackers for tests: real Redis (from the testkit), real executer processes, a local
 * artifact store in a temp folder; short timings so tests run fast.
 */
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterEach } from 'vitest';
import {
  LocalArtifactStore,
  loadExecuters,
  silentLogger,
  type ArtifactStore,
  type Logger,
  type QueueKeys,
  type TaskRecord,
  waitForTaskEnd,
} from '@gpufleet/core';
import { resolveTaskInit, TRACKER_DEFAULTS, Tracker, type TrackerConfig } from '@gpufleet/tracker';

export const FIXTURE_EXECUTERS = fileURLToPath(new URL('../fixtures/executers', import.meta.url));

/** A list for the trackers a test starts; each is closed after the test. */
export function useTrackers(): Tracker[] {
  const trackers: Tracker[] = [];
  afterEach(async () => {
    await Promise.all(trackers.splice(0).map((t) => t.close()));
  });
  return trackers;
}

export interface TestTrackerOptions extends Partial<TrackerConfig> {
  redisUrl: string;
  prefix: string;
  artifactDir: string;
  workDir: string;
  gpuIds?: number[];
  logger?: Logger;
  /** The artifact store the tracker uses; default a LocalArtifactStore on artifactDir. */
  store?: ArtifactStore;
}

export function testTrackerConfig(options: TestTrackerOptions): TrackerConfig {
  return {
    ...TRACKER_DEFAULTS,
    consumerName: 'tracker-a',
    queue: 'default',
    artifactStore: options.artifactDir,
    artifactStoreSettings: { kind: 'local', root: options.artifactDir, fsync: true },
    executerPaths: [FIXTURE_EXECUTERS],
    gpus: options.gpuIds ?? [],
    cpuSlots: null,
    logLevel: 'silent',
    allowOptInExecuters: false,
    leaseMs: 3000,
    heartbeatMs: 500,
    sweepMs: 200,
    killGraceMs: 1000,
    shutdownGraceMs: 5000,
    blockMs: 1000,
    keepTaskDirs: false,
    taskInit: 'auto',
    ...options,
  };
}

export async function startTestTracker(options: TestTrackerOptions): Promise<Tracker> {
  const config = testTrackerConfig(options);
  const executers = await loadExecuters(config.executerPaths, { allowOptIn: config.allowOptInExecuters });
  const tracker = new Tracker({
    config,
    logger: options.logger ?? silentLogger(),
    store: options.store ?? new LocalArtifactStore(options.artifactDir),
    executers,
    gpuIds: options.gpuIds ?? [],
    taskInit: await resolveTaskInit(config.taskInit, config.workDir, silentLogger()),
  });
  await tracker.start();
  return tracker;
}

export async function waitForFinal(
  redis: Redis,
  keys: QueueKeys,
  id: string,
  timeoutMs = 20_000,
): Promise<TaskRecord> {
  return waitForTaskEnd(redis, keys, id, { timeoutMs });
}
