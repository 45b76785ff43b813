/**
 * The local fleet's demo: a small `sph` dam break on the tracker's first GPU (or its CPU when it has
 * none), followed from its events until it ends, then its outputs listed.
 */
import type { Redis } from 'ioredis';
import { enqueue, getTask, isFinal, queueKeys, type TaskRecord } from '@gpufleet/core';

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
  let last = '$';
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  const reader = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
  try {
    for (;;) {
      const task = await getTask(redis, keys, id);
      if (task && isFinal(task.status)) return task;
      if (Date.now() > deadline) throw new Error(`the demo task ${id} did not end in time`);
      const reply = (await reader.xread('BLOCK', 1000, 'STREAMS', keys.events, last)) as Array<
        [string, Array<[string, string[]]>]
      > | null;
      for (const [, entries] of reply ?? []) {
        for (const [entryId, f] of entries) {
          last = entryId;
          if (f[1] === id && !isFinal(f[3] as TaskRecord['status']))
            print(`demo: ${f[3]}${f[11] ? ` (${f[11]})` : ''}`);
        }
      }
    }
  } finally {
    reader.disconnect();
  }
}
