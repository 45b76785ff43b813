// The tracker image end to end, where a Docker engine exists: build it with
// scripts/build-executer-image.ts (the noop executer on debian:bookworm-slim, so no GPU or CUDA base
// is needed), start Redis and the image with testcontainers, and check that the tracker runs as PID 1's
// child under tini as a non-root user with the executer baked in and labelled, takes a task from the
// queue and finishes it, and stops cleanly on SIGTERM. Skips, saying why, where there is no Docker
// engine (`docker info` fails) or the testcontainers package is not installed.
import { execFile, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { enqueue, getTask, isFinal, queueKeys } from '@gpufleet/core';
import { waitFor } from '@gpufleet/testkit';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '');
const IMAGE = 'gpufleet-e2e-noop:test';

/** The parts of testcontainers this test uses (typed here: the package is optional). */
interface StartedContainer {
  getId(): string;
  getHost(): string;
  getMappedPort(port: number): number;
  exec(command: string[]): Promise<{ output: string; exitCode: number }>;
  stop(options?: { timeout?: number }): Promise<unknown>;
}
interface ContainerBuilder {
  withNetwork(network: unknown): ContainerBuilder;
  withNetworkAliases(...aliases: string[]): ContainerBuilder;
  withExposedPorts(...ports: number[]): ContainerBuilder;
  withEnvironment(env: Record<string, string>): ContainerBuilder;
  withWaitStrategy(strategy: unknown): ContainerBuilder;
  start(): Promise<StartedContainer>;
}
interface Testcontainers {
  GenericContainer: new (image: string) => ContainerBuilder;
  Network: new () => { start(): Promise<{ stop(): Promise<unknown> }> };
  Wait: { forLogMessage(message: RegExp | string): unknown };
}

function whyNot(): string | null {
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (info.error) return `no docker client (${info.error.message})`;
  if (info.status !== 0)
    return `no Docker engine: docker info exited ${info.status} (${info.stderr.trim().split('\n').at(-1)})`;
  try {
    createRequire(import.meta.url).resolve('testcontainers');
  } catch {
    return 'the testcontainers package is not installed (npm install -D testcontainers)';
  }
  return null;
}

const skipReason = whyNot();

describe('tracker image (Docker)', () => {
  it('builds, takes a task from the queue, runs as non-root under tini, and stops on SIGTERM', async (ctx) => {
    ctx.skip(skipReason !== null, skipReason ?? '');
    const tsx = createRequire(import.meta.url).resolve('tsx/cli');
    const noop = join(ROOT, 'packages', 'executers', 'catalog', 'noop');
    const [name, tag] = IMAGE.split(':') as [string, string];
    const args = [tsx, join(ROOT, 'scripts', 'build-executer-image.ts'), '--name', name, '--tag', tag];
    await promisify(execFile)(
      process.execPath,
      [...args, '--executer-path', noop, '--base', 'debian:bookworm-slim'],
      {
        cwd: ROOT,
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const labels = spawnSync('docker', ['image', 'inspect', '--format', '{{json .Config.Labels}}', IMAGE], {
      encoding: 'utf8',
    });
    expect(JSON.parse(labels.stdout) as Record<string, string>).toMatchObject({
      'org.gpufleet.executer.name': 'noop',
      'org.gpufleet.executer.version': '1.0.0',
    });

    const moduleName = 'testcontainers';
    const tc = (await import(moduleName)) as Testcontainers;
    const network = await new tc.Network().start();
    const redisContainer = await new tc.GenericContainer('redis:7-alpine')
      .withNetwork(network)
      .withNetworkAliases('redis')
      .withExposedPorts(6379)
      .start();
    const tracker = await new tc.GenericContainer(IMAGE)
      .withNetwork(network)
      .withEnvironment({
        REDIS_URL: 'redis://redis:6379',
        REDIS_CONSUMER_NAME: 'e2e-1',
        GPUFLEET_GPUS: 'none',
      })
      .withWaitStrategy(tc.Wait.forLogMessage(/tracker started/))
      .start();
    const redis = new Redis(redisContainer.getMappedPort(6379), redisContainer.getHost());
    try {
      const { id } = await enqueue({ redis, prefix: 'gf' }, { executer: 'noop' });
      const task = await waitFor(
        async () => {
          const t = await getTask(redis, queueKeys('gf', 'default'), id);
          return t && isFinal(t.status) ? t : null;
        },
        { timeoutMs: 60_000 },
      );
      expect(task.status).toBe('succeeded');
      expect((await tracker.exec(['id', '-u'])).output.trim()).toBe('10001');
      expect((await tracker.exec(['cat', '/proc/1/comm'])).output.trim()).toBe('tini');
      expect((await tracker.exec(['printenv', 'GPUFLEET_EXECUTERS'])).output.trim()).toBe(
        '/opt/gpufleet/executers',
      );
      // SIGTERM (docker stop) reaches the tracker through tini: a clean shutdown, exit code 0.
      expect(spawnSync('docker', ['stop', '--time', '20', tracker.getId()]).status).toBe(0);
      const state = spawnSync('docker', ['inspect', '--format', '{{.State.ExitCode}}', tracker.getId()], {
        encoding: 'utf8',
      });
      expect(state.stdout.trim()).toBe('0');
      const logs = spawnSync('docker', ['logs', tracker.getId()], { encoding: 'utf8' });
      expect(logs.stdout + logs.stderr).toContain('tracker stopped');
    } finally {
      redis.disconnect();
      await tracker.stop({ timeout: 20_000 }).catch(() => undefined);
      await redisContainer.stop();
      await network.stop();
    }
  }, 1_800_000);
});
