/**
 * An attempt's first phase, before its process: the task's record, its executer and parameters
 * (checked again here: the catalog may have changed since the submission), whether the tracker
 * runs its env setup line, then its folder with the inputs fetched, and the argv (wrapped by
 * env-setup.ts when it has such a line) and environment of its process.
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
import { withEnvSetup } from './env-setup.js';
import type { TaskExecutionDeps } from './attempt-types.js';

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export type AttemptSpec =
  | { kind: 'ready'; record: TaskRecord; executer: LoadedExecuter; params: Record<string, unknown> }
  /** The attempt ends before its process starts, with this failure. */
  | { kind: 'end'; end: TaskFailure };

/**
 * The record (as the claim read it), its executer and its parameters. A task with an env setup
 * line ends ENV_SETUP_NOT_ALLOWED on a tracker that does not run them (`allowEnvSetup`:
 * GPUFLEET_ALLOW_ENV_SETUP), before anything of it runs.
 */
export function attemptSpec(
  record: TaskRecord,
  executers: ReadonlyMap<string, LoadedExecuter>,
  consumer: string,
  allowEnvSetup = false,
): AttemptSpec {
  const executer = executers.get(record.executer);
  if (!executer) {
    const reason = `tracker "${consumer}" has no executer "${record.executer}"`;
    return { kind: 'end', end: new TaskFailure('NO_EXECUTER', reason) };
  }
  if (record.envSetup && !allowEnvSetup) {
    const reason = `tracker "${consumer}" does not run env setup lines (GPUFLEET_ALLOW_ENV_SETUP is off)`;
    return { kind: 'end', end: new TaskFailure('ENV_SETUP_NOT_ALLOWED', reason) };
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
 * Fetches the inputs into the folder; a TaskFailure (INPUTS_REFUSED or INPUTS_UNAVAILABLE) when
 * they could not be fetched, else null.
 */
export async function fetchTaskInputs(
  deps: Pick<TaskExecutionDeps, 'store'>,
  spec: ReadySpec,
  folder: TaskFolder,
): Promise<TaskFailure | null> {
  const { record } = spec;
  try {
    await fetchInputs(deps.store, folder, record.tenant, record.id, record.inputs);
    return null;
  } catch (error) {
    const code = error instanceof GpufleetError ? `${error.code}: ` : '';
    return new TaskFailure(inputFailureCode(error), `inputs refused: ${code}${describe(error)}`, {
      cause: error,
    });
  }
}

/** Fetches the inputs, then builds the process's argv and environment (or the inputs' TaskFailure). */
export async function prepareProcess(
  deps: Pick<TaskExecutionDeps, 'store' | 'baseEnv' | 'preemptGraceMs' | 'gpuMps'>,
  spec: ReadySpec,
  folder: TaskFolder,
  attempt: number,
  gpuIds: readonly number[],
): Promise<ProcessSpec | TaskFailure> {
  return (await fetchTaskInputs(deps, spec, folder)) ?? processSpecOf(deps, spec, folder, attempt, gpuIds);
}

export type ReadySpec = Extract<AttemptSpec, { kind: 'ready' }>;

/**
 * The process's argv and environment. A service's (service/service-run.ts) gets its `ports`:
 * `{port.NAME}` in its command, and GPUFLEET_PORT_<NAME> in its environment. With an env setup
 * line (which attemptSpec let through) the argv runs it first, in the executer's shell.
 */
export function processSpecOf(
  deps: Pick<TaskExecutionDeps, 'baseEnv' | 'preemptGraceMs' | 'gpuMps'>,
  spec: ReadySpec,
  folder: TaskFolder,
  attempt: number,
  gpuIds: readonly number[],
  ports?: Readonly<Record<string, number>>,
): ProcessSpec {
  const { record, executer, params } = spec;
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
      ...(ports && { ports }),
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
  for (const [name, port] of Object.entries(ports ?? {}))
    env[`GPUFLEET_PORT_${name.toUpperCase()}`] = String(port);
  const { file, args } = record.envSetup ? withEnvSetup(record.envSetup, argv) : argv;
  return { file, args, env };
}
