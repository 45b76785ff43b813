// Picks the sph build to run: the GPU build when a GPU is visible to this process (the tracker's
// CUDA_VISIBLE_DEVICES names one and nvidia-smi answers) and it can be had (nvcc, or a binary
// already built); the CPU build otherwise. Returns the choice with the reason, for the log.
import { spawnSync } from 'node:child_process';
import { anyCachedBinary, which } from './build-cache.mjs';

/** Why no GPU can be used, or null when one is visible. */
export function gpuUnavailableReason(env = process.env) {
  const visible = (env.CUDA_VISIBLE_DEVICES ?? '').trim();
  if (visible === '' || visible === '-1' || visible === 'none' || visible === 'void') {
    return 'no GPU was given to this task (CUDA_VISIBLE_DEVICES is empty)';
  }
  const smi = spawnSync('nvidia-smi', ['-L'], { env, encoding: 'utf8', timeout: 15_000 });
  if (smi.error) return `nvidia-smi cannot run (${smi.error.message}): no NVIDIA driver here`;
  if (smi.status !== 0 || !/^GPU \d+/m.test(smi.stdout)) {
    return `nvidia-smi lists no GPU (exit ${smi.status}): ${(smi.stderr || smi.stdout).trim().split('\n')[0]}`;
  }
  return null;
}

/**
 * { backend: 'cpu' | 'cuda', reason } for device 'auto' | 'cpu' | 'gpu'. Device 'gpu' without a
 * usable GPU throws, so the task fails instead of silently running on the CPU.
 */
export function chooseBackend(device, env = process.env) {
  if (device === 'cpu') return { backend: 'cpu', reason: 'the task asked for the CPU build' };
  const noGpu = gpuUnavailableReason(env);
  const canBuildGpu = which('nvcc', env) !== null || anyCachedBinary('cuda', env) !== null;
  if (device === 'gpu') {
    if (noGpu) throw new Error(`the task asked for the GPU build, but ${noGpu}`);
    if (!canBuildGpu) throw new Error('the task asked for the GPU build, but nvcc is not installed');
    return { backend: 'cuda', reason: 'the task asked for the GPU build' };
  }
  if (noGpu) return { backend: 'cpu', reason: noGpu };
  if (!canBuildGpu) return { backend: 'cpu', reason: 'a GPU is visible but nvcc is not installed' };
  return { backend: 'cuda', reason: `GPU ${env.CUDA_VISIBLE_DEVICES} is visible and nvcc can build for it` };
}
