// Ctrl-C of `npm start` while a task runs, as a terminal sends it (SIGINT to the whole foreground
// process group): the fleet says at once which task it waits for, how long at most, and that a
// second Ctrl-C stops at once; its Redis is not hit by the Ctrl-C (the tracker still has to record
// what the task did). The second Ctrl-C exits at once, and takes the fleet's redis-server with it.
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GpufleetClient } from '@gpufleet/api-client';
import { useTempDirs, waitFor } from '@gpufleet/testkit';

const temp = useTempDirs();
const BIN = fileURLToPath(new URL('../bin/gpufleet-local.js', import.meta.url));

const ping = (port: string): string =>
  spawnSync('redis-cli', ['-p', port, 'ping'], { encoding: 'utf8', timeout: 5000 }).stdout.trim();

/** The process group of a process (Linux). */
async function processGroup(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('Ctrl-C of the local fleet with a task running', () => {
  it(
    'says what it waits for and for how long; a second Ctrl-C stops at once',
    { timeout: 90_000 },
    async () => {
      const home = await temp.make();
      const dataDir = join(home, '.gpufleet');
      const child = spawn(
        process.execPath,
        [BIN, '--no-demo', '--own-redis', '--api-port', '0', '--data-dir', dataDir],
        {
          cwd: home,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: home,
            GPUFLEET_GPUS: 'none',
            GPUFLEET_CPU_SLOTS: '2',
            GPUFLEET_SHUTDOWN_GRACE_MS: '45000',
          },
          // A process group of its own, as a terminal's foreground job: Ctrl-C goes to the whole group.
          detached: true,
        },
      );
      const ctrlC = (): void => void process.kill(-(child.pid as number), 'SIGINT');
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const pidFile = join(home, 'task.pid');
      let redisPort = '';
      let taskPid = 0;
      try {
        await waitFor(() => out.includes('the fleet runs until Ctrl-C'), { timeoutMs: 30_000, message: out });
        redisPort = /redis:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1] ?? '';
        const api = /api: +(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? '';
        const token = (await readFile(join(dataDir, 'local-token'), 'utf8')).trim();
        const job = join(home, 'job');
        await mkdir(job);
        await writeFile(join(job, 'run.sh'), `#!/bin/sh\necho $$ > '${pidFile}'\nexec sleep 120\n`);
        await chmod(join(job, 'run.sh'), 0o755);
        const client = new GpufleetClient({ url: api, token });
        const task = await client.submit(
          { executer: 'script', gpus: 0, params: { script: 'run.sh' } },
          { inputs: [job] },
        );
        taskPid = Number(await waitFor(() => readFile(pidFile, 'utf8'), { message: 'the task runs' }));

        ctrlC();
        await waitFor(() => out.includes('press Ctrl-C again'), { message: 'a shutdown notice' });
        expect(out).toContain(
          `\nstopping the local fleet: waiting up to 45 s for 1 running task to finish (${task.id} script), ` +
            'then handing what is left back to the queue\npress Ctrl-C again to stop at once\n',
        );
        // Still waiting for the task, on a Redis that the Ctrl-C did not stop.
        expect(child.exitCode).toBeNull();
        expect(alive(taskPid)).toBe(true);
        expect(ping(redisPort)).toBe('PONG');
        const info = spawnSync('redis-cli', ['-p', redisPort, 'info', 'server'], { encoding: 'utf8' }).stdout;
        const redisPid = Number(/process_id:(\d+)/.exec(info)?.[1]);
        expect(await processGroup(redisPid)).not.toBe(child.pid);

        const second = Date.now();
        ctrlC();
        expect(await exited).toBe(130);
        expect(Date.now() - second).toBeLessThan(10_000);
        await waitFor(() => ping(redisPort) !== 'PONG', {
          message: 'the fleet’s redis-server stopped with it',
        });
        expect(err).not.toMatch(/redis unreachable/);
      } finally {
        if (child.exitCode === null) process.kill(-(child.pid as number), 'SIGKILL');
        if (taskPid > 0 && alive(taskPid)) process.kill(taskPid, 'SIGKILL');
        if (redisPort && ping(redisPort) === 'PONG')
          spawnSync('redis-cli', ['-p', redisPort, 'shutdown', 'nosave']);
      }
    },
  );
});
