/**
 * An attempt's first phase, before its process: the task's record, its executer and parameters
 * (checked again here: the catalog may have changed since the submission), then its folder with
 * the inputs fetched, and the argv and environment of its process.
 */
import {
  buildArgv,
  GpufleetError,
  type LoadedExecuter,
  type TaskRecord,
  type TaskStatus,
} from '@gpufleet/core';
import { fetchInputs, type TaskFolder } from './task-folder.js';
import { taskEnv } from './task-env.js';
import type { TaskExecutionDeps } from './attempt-types.js';

/** Why an attempt ends before its process starts, and with which status. */
export interface EarlyEnd {
  status: TaskStatus;
  reason: string;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export type AttemptSpec =
  | { kind: 'ready'; record: TaskRecord; executer: LoadedExecuter; params: Record<string, unknown> }
  | { kind: 'end'; end: EarlyEnd };

/** The record (as the claim read it), its executer and its parameters. */
export function attemptSpec(
  record: TaskRecord,
  executers: ReadonlyMap<string, LoadedExecuter>,
  consumer: string,
): AttemptSpec {
  const executer = executers.get(record.executer);
  if (!executer) {
    return {
      kind: 'end',
      end: { status: 'dead', reason: `tracker "${consumer}" has no executer "${record.executer}"` },
    };
  }
  try {
    // Parsed from the record for this attempt: validated in place.
    return {
      kind: 'ready',
      record,
      executer,
      params: executer.validateParams(record.params, { owned: true }),
    };
  } catch (error) {
    return { kind: 'end', end: { status: 'failed', reason: describe(error) } };
  }
}

export interface ProcessSpec {
  file: string;
  args: string[];
  env: Record<string, string>;
}

/** Fetches the inputs into the folder and builds the process's argv and environment. */
export async function prepareProcess(
  deps: Pick<TaskExecutionDeps, 'store' | 'baseEnv'>,
  spec: Extract<AttemptSpec, { kind: 'ready' }>,
  folder: TaskFolder,
  attempt: number,
  gpuIds: readonly number[],
): Promise<ProcessSpec | EarlyEnd> {
  const { record, executer, params } = spec;
  try {
    await fetchInputs(deps.store, folder, record.tenant, record.id, record.inputs);
  } catch (error) {
    const code = error instanceof GpufleetError ? `${error.code}: ` : '';
    return { status: 'failed', reason: `inputs refused: ${code}${describe(error)}` };
  }
  const argv = buildArgv(
    executer.manifest,
    {
      executerDir: executer.dir,
      taskDir: folder.root,
      inputDir: folder.inputDir,
      outputDir: folder.outputDir,
      gpuIds,
      taskId: record.id,
      attempt,
    },
    params,
  );
  const env = taskEnv({
    base: deps.baseEnv,
    manifestEnv: executer.manifest.env,
    taskId: record.id,
    attempt,
    gpuIds,
    inputDir: folder.inputDir,
    outputDir: folder.outputDir,
  });
  return { file: argv.file, args: argv.args, env };
}
