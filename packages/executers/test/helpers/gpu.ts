/**
 * Whether this machine can run the sph GPU build (an NVIDIA GPU that nvidia-smi lists) and compile it
 * (nvcc on PATH), with the reason when not, so GPU tests skip saying why.
 */
import { spawnSync } from 'node:child_process';

export function gpuUsable(): { usable: boolean; reason: string } {
  const smi = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 15_000 });
  if (smi.error)
    return { usable: false, reason: `no NVIDIA GPU here: nvidia-smi cannot run (${smi.error.message})` };
  if (smi.status !== 0 || !/^GPU \d+/m.test(smi.stdout)) {
    return { usable: false, reason: `no NVIDIA GPU here: nvidia-smi -L exited ${smi.status} listing none` };
  }
  return { usable: true, reason: smi.stdout.trim().split('\n')[0] ?? 'a GPU' };
}

export function nvccAvailable(): { available: boolean; reason: string } {
  const nvcc = spawnSync('nvcc', ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (nvcc.error || nvcc.status !== 0)
    return { available: false, reason: 'nvcc (the CUDA compiler) is not installed' };
  return { available: true, reason: nvcc.stdout.trim().split('\n').at(-1) ?? 'nvcc' };
}
