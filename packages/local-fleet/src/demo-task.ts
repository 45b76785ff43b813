/**
 * The local fleet's demo: a small `sph` dam break on the tracker's first GPU (or its CPU when it has
 * none), followed from its events until it ends, then its outputs listed.
 */
import type { Redis } from 'ioredis';
import { enqueue, isFinal, queueKeys, waitForTaskEnd, type TaskRecord } from '@gpufleet/core';

export interface DemoOptions {
  redis: Redis;
  prefix: string;
  gpus: number;
  print: (line: string) => void;
  timeoutMs?: number;
}

export async function runDemoTask(options: DemoOptions): Promise<TaskRecord> {
  const { redis, prefix, print } = options;
  const keys = queueKeys(prefix, 'default');
  const spec = {
    executer: 'sph',
    gpus: options.gpus,
    params: { particles: 800, outputEvery: 200 },
    idempotencyKey: `demo-${Date.now()}`,
  };
  const { id } = await enqueue({ redis, prefix }, spec);
  print(`demo: submitted sph dam break as task ${id} (${options.gpus > 0 ? `${options.gpus} GPU` : 'CPU'})`);
  return waitForTaskEnd(redis, keys, id, {
    timeoutMs: options.timeoutMs ?? 300_000,
    onEvent: (event) => {
      if (!isFinal(event.status)) print(`demo: ${event.status}${event.reason ? ` (${event.reason})` : ''}`);
    },
  });
}
