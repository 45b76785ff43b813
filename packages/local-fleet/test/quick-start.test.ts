// The README's quick start: `npm start` brings a whole fleet up on this machine (here with a
// redis-server of its own) and the demo task succeeds; Ctrl-C stops everything it started.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useTempDirs, waitFor } from '@gpufleet/testkit';

const temp = useTempDirs();
const BIN = fileURLToPath(new URL('../dist/bin/gpufleet-local.js', import.meta.url));
const env = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  GPUFLEET_GPUS: 'none',
  GPUFLEET_CPU_SLOTS: '2',
};

describe('the local fleet (npm start)', () => {
  it('comes up on its own Redis and runs the demo task to success', { timeout: 120_000 }, async () => {
    const dataDir = await temp.make();
    const result = spawnSync(
      process.execPath,
      [BIN, '--exit-after-demo', '--own-redis', '--data-dir', dataDir],
      {
        env,
        encoding: 'utf8',
        timeout: 110_000,
      },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/gpufleet local fleet is up/);
    expect(result.stdout).toMatch(/redis: +redis:\/\/127\.0\.0\.1:\d+ \(started here/);
    expect(result.stdout).toMatch(/demo: succeeded\n/);
    expect(result.stdout).toMatch(/final-frame\.png \(\d+ B\)/);
    expect(result.status).toBe(0);
  });

  it('stops its Redis and tracker cleanly on Ctrl-C', { timeout: 60_000 }, async () => {
    const dataDir = await temp.make();
    const child = spawn(process.execPath, [BIN, '--no-demo', '--own-redis', '--data-dir', dataDir], { env });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await waitFor(() => out.includes('the fleet runs until Ctrl-C'), { timeoutMs: 30_000 });
    const port = /127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    const ping = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
    expect(ping.stdout.trim()).not.toBe('PONG');
  });
});
