/**
 * The work both systems run, as argv arrays: the same program whichever system starts it. For
 * gpufleet each is an executer (`bench/executers/{noop,sleep}`, `bench/lib/executers/tree`); an
 * executer name must be defined in one folder only (the tracker refuses a second definition).
 */
import { fileURLToPath } from 'node:url';

/** Executer folders for gpufleet trackers: noop, sleep and tree. */
export const BENCH_EXECUTERS = [
  fileURLToPath(new URL('../executers', import.meta.url)),
  fileURLToPath(new URL('./executers', import.meta.url)),
];

export const TREE_SCRIPT = fileURLToPath(new URL('./executers/tree/tree.sh', import.meta.url));

export type TreeMode = 'single' | 'obedient' | 'stubborn';

/** What a job runs, as gpufleet's executer + params and as BullMQ's argv. */
export interface Work {
  executer: string;
  params?: Record<string, unknown>;
  argv: string[];
}

export const noopWork = (): Work => ({ executer: 'noop', argv: ['true'] });

/** `sleep SECONDS` (bench/executers/sleep: its param is a decimal string, its time limit 60 s). */
export const sleepWork = (seconds: number): Work => ({
  executer: 'sleep',
  params: { seconds: String(seconds) },
  argv: ['sleep', String(seconds)],
});

export const treeWork = (pidFile: string, mode: TreeMode): Work => ({
  executer: 'tree',
  params: { pidFile, mode },
  argv: ['sh', TREE_SCRIPT, pidFile, mode],
});
