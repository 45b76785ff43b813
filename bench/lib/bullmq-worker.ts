/**
 * A BullMQ worker as its own process, for the comparison benchmarks (crash recovery, cancel,
 * memory): a Worker whose processor spawns the job's program with execa (bullmq-processor.ts).
 * Settings come from the environment: REDIS_URL, BENCH_QUEUE, BENCH_CONCURRENCY, BENCH_LOCK_MS and
 * BENCH_STALLED_MS (unset: BullMQ's defaults), BENCH_EVENTS=1 (print a JSON line per job event),
 * BENCH_RELAY=1 (cancel jobs named on the Relay topic `jobs.<queue>.cancel`, as BullMQ's guide
 * "Cancelling jobs on other workers" does). Prints {"event":"ready"} once it takes jobs.
 * Usage: node --import tsx bench/lib/bullmq-worker.ts (started by bench/lib/worker-process.ts).
 */
import { Relay, Worker, type WorkerOptions } from 'bullmq';
import { connectionOf } from './bullmq.js';
import { makeProcessor, type BenchJobData } from './bullmq-processor.js';

const env = process.env;
const queue = env.BENCH_QUEUE ?? 'bench';
const connection = connectionOf(env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const events = env.BENCH_EVENTS === '1';
const print = (line: object): void => {
  if (events) process.stdout.write(`${JSON.stringify(line)}\n`);
};

const options: WorkerOptions = { connection, concurrency: Number(env.BENCH_CONCURRENCY ?? 1) };
if (env.BENCH_LOCK_MS) options.lockDuration = Number(env.BENCH_LOCK_MS);
if (env.BENCH_STALLED_MS) options.stalledInterval = Number(env.BENCH_STALLED_MS);

const processor = makeProcessor({ onSpawned: (jobId, pid) => print({ event: 'spawned', jobId, pid }) });
const worker = new Worker<BenchJobData>(queue, processor, options);
worker.on('completed', (job) => print({ event: 'completed', jobId: job.id }));
worker.on('failed', (job, error) => print({ event: 'failed', jobId: job?.id, reason: error.message }));
worker.on('error', (error) => process.stderr.write(`worker error: ${error.message}\n`));

let relay: Relay | undefined;
if (env.BENCH_RELAY === '1') {
  relay = new Relay({ connection });
  await relay.subscribe<{ jobId: string; reason?: string }>(`jobs.${queue}.cancel`, (message) => {
    const cancelled = worker.cancelJob(message.data.jobId, message.data.reason ?? 'cancelled');
    print({ event: 'cancel', jobId: message.data.jobId, cancelled });
  });
}
await worker.waitUntilReady();
process.stdout.write(`${JSON.stringify({ event: 'ready', pid: process.pid })}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) process.exit(2);
  stopping = true;
  void Promise.all([worker.close(), relay?.close()]).then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
