/** BullMQ in-process: a Queue and a Worker (concurrency N) whose processor spawns the program. */
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import type { Work } from './programs.js';
import { makeProcessor, type BenchJobData, type ProcessorHooks } from './bullmq-processor.js';

export function connectionOf(redisUrl: string): ConnectionOptions {
  const url = new URL(redisUrl);
  return { host: url.hostname, port: Number(url.port) };
}

let count = 0;

export interface InProcessBull {
  queue: Queue<BenchJobData>;
  worker: Worker<BenchJobData>;
  /** Runs the worker (its errors are reported on stderr). */
  start: () => void;
  /** Resolves when `n` jobs have completed since the worker started; rejects on a failed job. */
  completed: (n: number) => Promise<void>;
  close: () => Promise<void>;
}

/** A fresh queue and a worker that does not run until `start()`. */
export function makeBull(redisUrl: string, concurrency: number, hooks: ProcessorHooks = {}): InProcessBull {
  const connection = connectionOf(redisUrl);
  const name = `cmp${++count}-${process.pid}`;
  const queue = new Queue<BenchJobData>(name, { connection });
  const worker = new Worker<BenchJobData>(name, makeProcessor(hooks), {
    connection,
    concurrency,
    autorun: false,
  });
  let done = 0;
  const waiters: Array<{ n: number; resolve: () => void; reject: (e: Error) => void }> = [];
  worker.on('completed', () => {
    done++;
    for (const w of waiters.filter((w) => done >= w.n)) w.resolve();
  });
  worker.on('failed', (job, error) => {
    for (const w of waiters) w.reject(new Error(`BullMQ job ${job?.id} failed: ${error.message}`));
  });
  return {
    queue,
    worker,
    start: () =>
      void worker.run().catch((error: unknown) => process.stderr.write(`BullMQ worker: ${String(error)}\n`)),
    completed: (n) =>
      new Promise<void>((resolve, reject) => {
        if (done >= n) resolve();
        else waiters.push({ n, resolve, reject });
      }),
    close: async () => {
      await worker.close();
      await queue.close();
    },
  };
}

/** Adds `n` jobs of `work`, 1,000 per addBulk. */
export async function addMany(queue: Queue<BenchJobData>, n: number, work: Work): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    const jobs = Array.from({ length: Math.min(1000, n - i) }, () => ({
      name: work.executer,
      data: { argv: work.argv },
    }));
    await queue.addBulk(jobs);
  }
}
