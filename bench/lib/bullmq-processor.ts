/**
 * The BullMQ side of the comparison: a processor that runs the job's program with execa, as a
 * BullMQ user would (execa's defaults: output buffered and returned; the job's AbortSignal passed
 * as `cancelSignal`, which sends SIGTERM and, after execa's default 5 s, SIGKILL to the program).
 * A cancelled job throws UnrecoverableError, as BullMQ's cancellation guide recommends.
 */
import { execa } from 'execa';
import { UnrecoverableError, type Job } from 'bullmq';

export interface BenchJobData {
  argv: string[];
}

export interface ProcessorHooks {
  onSpawned?: (jobId: string, pid: number | undefined, at: number) => void;
}

export const preciseNow = (): number => performance.timeOrigin + performance.now();

export function makeProcessor(hooks: ProcessorHooks = {}) {
  return async (
    job: Job<BenchJobData>,
    _token?: string,
    signal?: AbortSignal,
  ): Promise<{ exitCode: number }> => {
    const [file = 'true', ...args] = job.data.argv;
    const child = execa(file, args, { cancelSignal: signal });
    hooks.onSpawned?.(job.id ?? '', child.pid, preciseNow());
    try {
      const result = await child;
      return { exitCode: result.exitCode ?? 0 };
    } catch (error) {
      if (signal?.aborted) throw new UnrecoverableError(`cancelled: ${String(signal.reason)}`);
      throw error;
    }
  };
}
