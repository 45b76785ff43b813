/**
 * The environment an executer runs with: the tracker's own, less its secrets and settings
 * (Redis, S3/AWS credentials, GPUFLEET_*), plus the executer's manifest `env`, plus the task's
 * variables. CUDA_VISIBLE_DEVICES names exactly the task's GPUs (empty for a CPU task, so a CPU
 * task cannot see any GPU), by the indices nvidia-smi gives them: CUDA_DEVICE_ORDER=PCI_BUS_ID
 * makes CUDA number GPUs as nvidia-smi does (its default, FASTEST_FIRST, may not). A preemptible
 * task also learns how it would be stopped: the signal (GPUFLEET_PREEMPT_SIGNAL, SIGTERM) and how
 * long it then has before SIGKILL to checkpoint (GPUFLEET_PREEMPT_GRACE_MS). A task that shares
 * its GPU (gpuShareMiB) learns its share (GPUFLEET_GPU_SHARE_MIB), to cap its own allocator by;
 * where MPS runs (its control pipe found: GPUFLEET_MPS), it is an MPS client whose device memory
 * is limited to its share (CUDA_MPS_PIPE_DIRECTORY, CUDA_MPS_PINNED_DEVICE_MEM_LIMIT). Without MPS
 * nothing keeps shares apart: a task that takes more than its share takes it from the others.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

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
  /** Set for a task that shares its GPU: its share (MiB), and the MPS pipe folder when MPS runs. */
  share?: { mib: number; mpsPipeDirectory: string | null };
}

/** Where MPS listens, for GPUFLEET_MPS (`auto`, `off` or a folder): null when its control pipe is not there. */
export function mpsPipeDirectory(mps: string, base: Readonly<Record<string, string>>): string | null {
  if (mps === 'off') return null;
  const dir = mps === 'auto' ? (base['CUDA_MPS_PIPE_DIRECTORY'] ?? '/tmp/nvidia-mps') : mps;
  return existsSync(join(dir, 'control')) ? dir : null;
}

function shareEnv(share: TaskEnvInput['share']): Record<string, string> {
  if (!share) return {};
  const mps = share.mpsPipeDirectory;
  return {
    GPUFLEET_GPU_SHARE_MIB: String(share.mib),
    // The client sees its one GPU as device 0 (CUDA_VISIBLE_DEVICES names it alone).
    ...(mps !== null && {
      CUDA_MPS_PIPE_DIRECTORY: mps,
      CUDA_MPS_PINNED_DEVICE_MEM_LIMIT: `0=${share.mib}M`,
    }),
  };
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
    ...shareEnv(input.share),
  };
}
