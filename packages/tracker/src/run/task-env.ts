/**
 * The environment an executer runs with: the tracker's own, less its secrets and settings
 * (Redis, S3/AWS credentials, GPUFLEET_*), plus the executer's manifest `env`, plus the task's
 * variables. CUDA_VISIBLE_DEVICES names exactly the task's GPUs (empty for a CPU task, so a CPU
 * task cannot see any GPU).
 */
const WITHHELD = /^(REDIS_|AWS_|S3_|GPUFLEET_|ARTIFACT_STORE$|CUDA_VISIBLE_DEVICES$|NVIDIA_VISIBLE_DEVICES$)/;

export interface TaskEnvInput {
  base: NodeJS.ProcessEnv;
  manifestEnv: Record<string, string>;
  taskId: string;
  attempt: number;
  gpuIds: readonly number[];
  inputDir: string;
  outputDir: string;
}

export function taskEnv(input: TaskEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(input.base)) {
    if (value !== undefined && !WITHHELD.test(key)) env[key] = value;
  }
  Object.assign(env, input.manifestEnv);
  const gpuList = input.gpuIds.join(',');
  Object.assign(env, {
    CUDA_VISIBLE_DEVICES: gpuList,
    GPUFLEET_TASK_ID: input.taskId,
    GPUFLEET_ATTEMPT: String(input.attempt),
    GPUFLEET_GPU_IDS: gpuList,
    GPUFLEET_INPUT_DIR: input.inputDir,
    GPUFLEET_OUTPUT_DIR: input.outputDir,
  });
  return env;
}
