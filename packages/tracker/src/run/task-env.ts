/**
 * The environment an executer runs with: the tracker's own, less its secrets and settings
 * (Redis, S3/AWS credentials, GPUFLEET_*), plus the executer's manifest `env`, plus the task's
 * variables. CUDA_VISIBLE_DEVICES names exactly the task's GPUs (empty for a CPU task, so a CPU
 * task cannot see any GPU), by the indices nvidia-smi gives them: CUDA_DEVICE_ORDER=PCI_BUS_ID
 * makes CUDA number GPUs as nvidia-smi does (its default, FASTEST_FIRST, may not). A preemptible
 * task also learns how it would be stopped: the signal (GPUFLEET_PREEMPT_SIGNAL, SIGTERM) and how
 * long it then has before SIGKILL to checkpoint (GPUFLEET_PREEMPT_GRACE_MS).
 */
const WITHHELD = /^(REDIS_|AWS_|S3_|GPUFLEET_|ARTIFACT_STORE$|CUDA_VISIBLE_DEVICES$|NVIDIA_VISIBLE_DEVICES$)/;

export interface TaskEnvInput {
  /** The tracker's environment less what is withheld: executerBaseEnv(process.env). */
  base: Readonly<Record<string, string>>;
  manifestEnv: Record<string, string>;
  taskId: string;
  attempt: number;
  gpuIds: readonly number[];
  inputDir: string;
  outputDir: string;
  /** Set for a preemptible task: its grace between the signal and SIGKILL (ms). */
  preemptGraceMs?: number;
}

/** The signal that stops a preempted task (then SIGKILL after the grace). */
export const PREEMPT_SIGNAL = 'SIGTERM';

/**
 * The part of the tracker's environment executers get, read once per tracker: walking
 * process.env calls into the C++ side for every variable (0.15 ms per task under npm's 100+
 * variables on the bench VM).
 */
export function executerBaseEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !WITHHELD.test(key)) base[key] = value;
  }
  return base;
}

export function taskEnv(input: TaskEnvInput): Record<string, string> {
  const gpuList = input.gpuIds.join(',');
  const preempt: Record<string, string> =
    input.preemptGraceMs === undefined
      ? {}
      : { GPUFLEET_PREEMPT_SIGNAL: PREEMPT_SIGNAL, GPUFLEET_PREEMPT_GRACE_MS: String(input.preemptGraceMs) };
  return {
    ...input.base,
    ...input.manifestEnv,
    CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
    CUDA_VISIBLE_DEVICES: gpuList,
    GPUFLEET_TASK_ID: input.taskId,
    GPUFLEET_ATTEMPT: String(input.attempt),
    GPUFLEET_GPU_IDS: gpuList,
    GPUFLEET_INPUT_DIR: input.inputDir,
    GPUFLEET_OUTPUT_DIR: input.outputDir,
    ...preempt,
  };
}
