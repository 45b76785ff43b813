/**
 * What `gpufleet submit` takes from its flags, else from the profile (`--profile NAME`, see
 * profiles/profile-file.ts): GPUs (`--gpus`; the profile's `gpus`, gres or device `cpu`), GPU
 * models (`--gpu-model`; the gres's type), the time limit (`--timeout`; `timeLimit` or
 * `slurm.time`), retries, the env setup line (`--env-setup`; `env`) and the SLURM resources (the
 * profile's only). A flag always wins over the profile.
 */
import { InvalidArgumentError } from 'commander';
import type { TaskSpec } from '../generated/api-types.js';
import { envLineProblem } from '../profiles/env-line.js';
import type { SubmitDefaults } from '../profiles/resolve-connection.js';

export interface TaskDefaultFlags {
  gpus?: number;
  gpuModel: string[];
  timeout?: number;
  retries?: number;
  envSetup?: string;
}

/** `--env-setup`: one shell line, checked as a profile's `env` is (a usage error otherwise). */
export function envSetupArg(value: string): string {
  const problem = envLineProblem(value);
  if (problem !== null) throw new InvalidArgumentError(`--env-setup ${problem}`);
  return value;
}

/** The spec fields the flags and the profile's defaults give (none when neither gives one). */
export function taskDefaults(flags: TaskDefaultFlags, defaults: SubmitDefaults): Partial<TaskSpec> {
  const spec: Partial<TaskSpec> = {};
  const gpus = flags.gpus ?? defaults.gpus;
  const timeLimitMs = flags.timeout ?? defaults.timeLimitMs;
  const retries = flags.retries ?? defaults.retries;
  const envSetup = flags.envSetup ?? defaults.envSetup;
  if (gpus !== undefined) spec.gpus = gpus;
  if (timeLimitMs !== undefined) spec.timeLimitMs = timeLimitMs;
  if (retries !== undefined) spec.retries = retries;
  if (envSetup !== undefined) spec.envSetup = envSetup;
  const models = flags.gpuModel
    .flatMap((m) => m.split(','))
    .map((m) => m.trim())
    .filter(Boolean);
  // The profile's model (its gres's type) goes with its GPUs, not with `--gpus 0`.
  if (models.length > 0) spec.gpuModels = models;
  else if (defaults.gpuModels && gpus !== 0) spec.gpuModels = [...defaults.gpuModels];
  if (defaults.slurm && Object.keys(defaults.slurm).length > 0) spec.slurm = { ...defaults.slurm };
  return spec;
}
