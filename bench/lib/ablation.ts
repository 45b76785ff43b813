/**
 * What one gpufleet task would cost without each piece of its work, measured by building the
 * in-process tracker differently (its dependencies and settings; no src change): the gain of
 * each suggestion in docs/benchmarks.md. The store without fsync is LocalArtifactStore's own
 * option (ARTIFACT_FSYNC=false); the null store's `put` hashes the bytes and writes nothing.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { destination, pino } from 'pino';
import { LocalArtifactStore, type ArtifactStore, type Logger } from '@gpufleet/core';
import type { TrackerOptions } from './gpufleet.js';

type Source = Readable | Buffer | string;

/** `store` with `put` replaced; every other method is the local store's. */
function withPut(store: ArtifactStore, put: ArtifactStore['put']): ArtifactStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'put') return put;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Reads the source to its end, hashing it; writes nothing. */
async function hashOf(source: Source): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  const stream =
    typeof source === 'string' || Buffer.isBuffer(source) ? Readable.from([Buffer.from(source)]) : source;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest('hex') };
}

/** Reads and hashes the bytes and stores nothing. */
export function nullStore(root: string): ArtifactStore {
  return withPut(new LocalArtifactStore(root), async (key, source) => ({ key, ...(await hashOf(source)) }));
}

/** The daemon's logging: pino at info, NDJSON, here written to /dev/null. */
export const infoLogger = (): Logger =>
  pino<never>({ level: 'info', name: 'gpufleet-tracker' }, destination({ dest: '/dev/null', sync: true }));

export interface Variant {
  name: string;
  /** What it takes away, in words. */
  removes: string;
  options: Omit<TrackerOptions, 'cpuSlots'>;
}

export const VARIANTS: Variant[] = [
  { name: 'as shipped', removes: 'nothing (logs silent, as in bench:throughput)', options: {} },
  {
    name: 'logging at info',
    removes: '(adds) the daemon’s info logging to /dev/null',
    options: { logger: infoLogger() },
  },
  {
    name: 'ARTIFACT_FSYNC=false',
    removes: 'the 2 fsyncs (file, folder) of each of the 3 puts',
    options: { store: (root) => new LocalArtifactStore(root, { fsync: false }) },
  },
  {
    name: 'no output files',
    removes: 'all artifact writes (stdout.txt, stderr.txt, manifest.json)',
    options: { store: nullStore },
  },
  {
    name: 'no task-init',
    removes: 'gpufleet-task-init (one exec less per task)',
    options: { noTaskInit: true },
  },
  { name: 'task folders kept', removes: 'rm -r of the task folder', options: { keepTaskDirs: true } },
  {
    name: 'all three removed',
    removes: 'artifact writes, task-init and the folder removal: left are Redis, mkdir, spawn, pid file, JS',
    options: { store: nullStore, noTaskInit: true, keepTaskDirs: true },
  },
];
