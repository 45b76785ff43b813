/**
 * Follows a running program's two log files (stdout.txt and stderr.txt, which the program writes
 * itself) for the live log: read every FOLLOW_MS, each new chunk handed to `onOutput`, stderr's
 * last lines kept for the task's record; `finish` reads the rest once the program has ended and
 * gives each file's size and digest. Shared by local processes (executer-process.ts) and SLURM
 * jobs (slurm/slurm-job.ts), whose log files are on storage the tracker shares with the nodes.
 */
import { LogFileReader, type LogFileSummary } from './log-file-reader.js';
import { TailBuffer } from './tail-buffer.js';

/** How often a running process's log files are read for the live log. */
export const FOLLOW_MS = 100;

export type OutputStream = 'stdout' | 'stderr';

export interface LogFollow {
  /** Stops the reads and reads the rest: each file's size and digest. */
  finish(): Promise<{ stdout: LogFileSummary; stderr: LogFileSummary }>;
  /** stderr's last lines so far. */
  stderrTail(): string;
}

export function followLogs(
  paths: { stdoutPath: string; stderrPath: string },
  onOutput?: (stream: OutputStream, chunk: Buffer) => void,
  options: { start?: boolean } = {},
): LogFollow & { start(): void } {
  const tail = new TailBuffer();
  const stdout = new LogFileReader(paths.stdoutPath, (chunk) => onOutput?.('stdout', chunk));
  const stderr = new LogFileReader(paths.stderrPath, (chunk) => {
    tail.push(chunk);
    onOutput?.('stderr', chunk);
  });
  let timer: NodeJS.Timeout | undefined;
  const start = (): void => {
    timer ??= setInterval(() => {
      void Promise.all([stdout.poll(), stderr.poll()]).catch(() => undefined);
    }, FOLLOW_MS);
    timer.unref();
  };
  if (options.start !== false) start();
  return {
    start,
    async finish() {
      clearInterval(timer);
      const [out, err] = await Promise.all([stdout.finish(), stderr.finish()]);
      return { stdout: out, stderr: err };
    },
    stderrTail: () => tail.lastLines(),
  };
}
