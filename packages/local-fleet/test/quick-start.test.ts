// The README's quick start: `npm start` brings a whole fleet up on this machine (here with a
// redis-server of its own): Redis, a tracker, the API with a generated token, and the demo task
// succeeds through the API. The `gpufleet` command it prints then works from that folder with no
// configuration at all, and Ctrl-C stops everything it started.
import { spawn, spawnSync } from 'node:child_process';
import { access, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useTempDirs, waitFor } from '@gpufleet/testkit';

const temp = useTempDirs();
const BIN = fileURLToPath(new URL('../dist/bin/gpufleet-local.js', import.meta.url));
const env = {
  PATH: process.env.PATH ?? '',
  GPUFLEET_GPUS: 'none',
  GPUFLEET_CPU_SLOTS: '2',
};

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command line printed by the banner (`npx gpufleet …` or `node …/gpufleet.js …`). */
function runPrinted(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<Run> {
  const [program, ...rest] = command.split(' ');
  const child = spawn(program as string, [...rest, ...args], {
    ...options,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the local fleet (npm start)', () => {
  it(
    'comes up on its own Redis with the API and runs the demo task to success',
    { timeout: 120_000 },
    async () => {
      const home = await temp.make();
      const dataDir = join(home, '.gpufleet');
      const result = spawnSync(
        process.execPath,
        [BIN, '--exit-after-demo', '--own-redis', '--api-port', '0', '--data-dir', dataDir],
        { env: { ...env, HOME: home }, cwd: home, encoding: 'utf8', timeout: 110_000 },
      );
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/gpufleet local fleet is up/);
      expect(result.stdout).toMatch(/redis: +redis:\/\/127\.0\.0\.1:\d+ \(started here/);
      expect(result.stdout).toMatch(/api: +http:\/\/127\.0\.0\.1:\d+ \(token in /);
      const token = (await readFile(join(dataDir, 'local-token'), 'utf8')).trim();
      expect(result.stdout).toContain(
        `dashboard: ${/api: +(\S+)/.exec(result.stdout)?.[1]}/ (sign in with the key ${token},`,
      );
      expect(result.stdout).toMatch(/docs: +http:\/\/127\.0\.0\.1:\d+\/docs\n/);
      expect(result.stdout).toMatch(
        /\n {2}\S.* submit sph --param particles=2000 --wait --download \.\/dam-break\n/,
      );
      expect(result.stdout).toMatch(/demo: submitted sph dam break as task [0-9a-z]{26} \(CPU\)\n/);
      expect(result.stdout).toMatch(/demo: succeeded\n/);
      expect(result.stdout).toMatch(/final-frame\.png \(\d+ B\)/);
      expect(result.status).toBe(0);
      // Stopped cleanly: the CLI's pointer to this fleet is gone, the token file stays private.
      expect(await exists(join(dataDir, 'local-api.json'))).toBe(false);
      expect((await stat(join(dataDir, 'local-token'))).mode & 0o777).toBe(0o600);
    },
  );

  it(
    'is found by the gpufleet command it prints, and stops everything on Ctrl-C',
    { timeout: 90_000 },
    async () => {
      const home = await temp.make();
      const dataDir = join(home, '.gpufleet');
      const child = spawn(
        process.execPath,
        [BIN, '--no-demo', '--own-redis', '--api-port', '0', '--data-dir', dataDir],
        {
          env: { ...env, HOME: home },
          cwd: home,
        },
      );
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      try {
        await waitFor(() => out.includes('the fleet runs until Ctrl-C'), { timeoutMs: 30_000 });
        const api = /api: +(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? '';
        const cli = /\n {2}(.+) executers\n/.exec(out)?.[1] ?? '';
        expect(cli).toMatch(/gpufleet/);
        expect((await stat(join(dataDir, 'local-api.json'))).mode & 0o777).toBe(0o600);
        expect((await fetch(`${api}/docs`)).status).toBe(200);
        expect((await fetch(`${api}/v1/queues`)).status).toBe(401); // the API never runs open

        // From a subfolder, with no GPUFLEET_* variables and no config file: the local profile.
        const cwd = await temp.make();
        const where = join(home, 'project');
        await mkdir(where, { recursive: true });
        const cliEnv = { PATH: env.PATH, HOME: cwd };
        const executers = await runPrinted(cli, ['executers', '--json'], { cwd: where, env: cliEnv });
        expect(executers.code, executers.stderr).toBe(0);
        const names = (JSON.parse(executers.stdout) as { executers: Array<{ name: string }> }).executers.map(
          (e) => e.name,
        );
        expect(names).toEqual(expect.arrayContaining(['sph', 'script', 'noop']));
        // The profile's default of 0 GPUs fits this CPU-only fleet: no --gpus needed.
        const submitted = await runPrinted(cli, ['submit', 'noop', '--wait', '--json'], {
          cwd: where,
          env: cliEnv,
        });
        expect(submitted.code, submitted.stderr).toBe(0);
        const { tasks } = JSON.parse(submitted.stdout) as { tasks: Array<{ status: string; id: string }> };
        expect(tasks[0]?.status).toBe('succeeded');
        const status = await runPrinted(cli, ['status', tasks[0]?.id ?? '', '--json'], {
          cwd: where,
          env: cliEnv,
        });
        expect(JSON.parse(status.stdout)).toMatchObject({ gpus: 0, status: 'succeeded' });
      } finally {
        child.kill('SIGINT');
      }
      expect(await exited).toBe(0);
      const port = /redis:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
      const ping = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
      expect(ping.stdout.trim()).not.toBe('PONG');
      expect(await exists(join(dataDir, 'local-api.json'))).toBe(false);
    },
  );

  it('says how to get Redis when there is none', { timeout: 30_000 }, async () => {
    const home = await temp.make();
    const result = spawnSync(
      process.execPath,
      [BIN, '--no-demo', '--own-redis', '--data-dir', join(home, '.gpufleet')],
      {
        env: { ...env, HOME: home, PATH: '/nonexistent' },
        encoding: 'utf8',
        timeout: 25_000,
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/redis-server is not installed/);
    expect(result.stderr).toMatch(/apt-get install redis-server/);
  });
});
