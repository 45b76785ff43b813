/**
 * An attempt's first phase, before its process: the task's record, its executer and parameters
 * (checked again here: the catalog may have changed since the submission), then its folder with
 * the inputs fetched, and the argv and environment of its process.
 */
import {
  buildArgv,
  GpufleetError,
  InfraError,
  NotFoundError,
  type LoadedExecuter,
  type TaskRecord,
} from '@gpufleet/core';
import { TaskFailure } from '../errors.js';
import { fetchInputs, type TaskFolder } from './task-folder.js';
import { mpsPipeDirectory, taskEnv } from './task-env.js';
import type { TaskExecutionDeps } from './attempt-types.js';

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export type AttemptSpec =
  | { kind: 'ready'; record: TaskRecord; executer: LoadedExecuter; params: Record<string, unknown> }
  /** The attempt ends before its process starts, with this failure. */
  | { kind: 'end'; end: TaskFailure };

/** The record (as the claim read it), its executer and its parameters. */
export function attemptSpec(
  record: TaskRecord,
  executers: ReadonlyMap<string, LoadedExecuter>,
  consumer: string,
): AttemptSpec {
  const executer = executers.get(record.executer);
  if (!executer) {
    const reason = `tracker "${consumer}" has no executer "${record.executer}"`;
    return { kind: 'end', end: new TaskFailure('NO_EXECUTER', reason) };
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
    return { kind: 'end', end: new TaskFailure('PARAMS_INVALID', describe(error), { cause: error }) };
  }
}

/**
 * INPUTS_REFUSED when the inputs themselves were refused (an archive entry escaping its folder,
 * too large, not an archive; a bad name); INPUTS_UNAVAILABLE when they could not be had (missing
 * from the store, the store or the disk failed).
 */
function inputFailureCode(error: unknown): 'INPUTS_REFUSED' | 'INPUTS_UNAVAILABLE' {
  const refused =
    error instanceof GpufleetError && !(error instanceof InfraError) && !(error instanceof NotFoundError);
  return refused ? 'INPUTS_REFUSED' : 'INPUTS_UNAVAILABLE';
}

export interface ProcessSpec {
  file: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * Fetches the inputs into the folder and builds the process's argv and environment; a
 * TaskFailure (INPUTS_REFUSED or INPUTS_UNAVAILABLE) when the inputs could not be fetched.
 */
export async function prepareProcess(
  deps: Pick<TaskExecutionDeps, 'store' | 'baseEnv' | 'preemptGraceMs' | 'gpuMps'>,
  spec: Extract<AttemptSpec, { kind: 'ready' }>,
  folder: TaskFolder,
  attempt: number,
  gpuIds: readonly number[],
): Promise<ProcessSpec | TaskFailure> {
  const { record, executer, params } = spec;
  try {
    await fetchInputs(deps.store, folder, record.tenant, record.id, record.inputs);
  } catch (error) {
    const code = error instanceof GpufleetError ? `${error.code}: ` : '';
    return new TaskFailure(inputFailureCode(error), `inputs refused: ${code}${describe(error)}`, {
      cause: error,
    });
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
  const shareMiB = record.gpuRequest.shareMiB ?? null;
  const env = taskEnv({
    base: deps.baseEnv,
    manifestEnv: executer.manifest.env,
    taskId: record.id,
    attempt,
    gpuIds,
    inputDir: folder.inputDir,
    outputDir: folder.outputDir,
    preemptGraceMs: record.preemptible ? deps.preemptGraceMs : undefined,
    ...(shareMiB !== null && {
      share: { mib: shareMiB, mpsPipeDirectory: mpsPipeDirectory(deps.gpuMps, deps.baseEnv) },
    }),
  });
  return { file: argv.file, args: argv.args, env };
}
