/**
 * Finds the machine's NVIDIA GPUs with `nvidia-smi`. No nvidia-smi (or a failing one) means no
 * GPUs: the tracker then runs as a CPU tracker unless GPUFLEET_GPUS says otherwise.
 */
import { execa } from 'execa';

export interface DetectedGpu {
  index: number;
  name: string;
  uuid: string;
  memoryMiB: number;
}

export function parseNvidiaSmi(csv: string): DetectedGpu[] {
  const gpus: DetectedGpu[] = [];
  for (const line of csv.split('\n')) {
    const [index, name, uuid, memory] = line.split(',').map((s) => s.trim());
    if (!index || !/^\d+$/.test(index)) continue;
    gpus.push({ index: Number(index), name: name ?? '', uuid: uuid ?? '', memoryMiB: Number(memory) || 0 });
  }
  return gpus;
}

export async function detectGpus(command = 'nvidia-smi'): Promise<DetectedGpu[]> {
  const result = await execa(
    command,
    ['--query-gpu=index,name,uuid,memory.total', '--format=csv,noheader,nounits'],
    {
      reject: false,
      timeout: 10_000,
    },
  );
  if (result.failed || result.exitCode !== 0) return [];
  return parseNvidiaSmi(result.stdout);
}
