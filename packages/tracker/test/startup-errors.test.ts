// The tracker refuses to start, saying exactly why: every bad variable at once (the artifact
// store's included), a malformed executer manifest with its file, field and reason, a GPU UUID in
// GPUFLEET_GPUS that no GPU has (nvidia-smi: a fake one on PATH), and a consumer name a live
// tracker holds.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fakeGpu, installFakeNvidiaSmi, useRedis, useTempDirs } from '@gpufleet/testkit';
import { useFaultFleets } from './helpers/fault-fleet.js';
import { TRACKER_BIN } from './helpers/tracker-process.js';

const redis = useRedis();
const temp = useTempDirs();
const newFleet = useFaultFleets(redis, temp);
const BAD_CATALOG = fileURLToPath(new URL('./fixtures/bad-manifest', import.meta.url));

function start(env: Record<string, string>): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [TRACKER_BIN], {
    env: { PATH: process.env.PATH ?? '', GPUFLEET_GPUS: 'none', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('tracker start-up errors', () => {
  it('reports every bad variable at once and does not start', () => {
    const { status, output } = start({
      REDIS_URL: 'http://nope',
      GPUFLEET_GPUS: '0,zero',
      GPUFLEET_LEASE_MS: '10',
      GPUFLEET_ALIVE_MS: '100',
      LOG_LEVEL: 'loud',
    });
    expect(status).toBe(1);
    for (const name of [
      'REDIS_URL',
      'GPUFLEET_GPUS',
      'GPUFLEET_LEASE_MS',
      'GPUFLEET_ALIVE_MS',
      'LOG_LEVEL',
      'GPUFLEET_EXECUTERS',
    ]) {
      expect(output).toMatch(new RegExp(`^  ${name}: `, 'm'));
    }
  });

  it('reports bad artifact store settings with the other bad variables, at start-up', () => {
    const s3 = start({
      ARTIFACT_STORE: 's3://fleet-artifacts/prod',
      S3_PART_SIZE_MB: '4',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      LOG_LEVEL: 'loud',
    });
    expect(s3.status).toBe(1);
    expect(s3.output).toMatch(/^gpufleet-tracker: invalid configuration$/m);
    expect(s3.output).toMatch(/^  S3_PART_SIZE_MB: must be at least 5 \(got 4\)$/m);
    expect(s3.output).toMatch(/^  AWS_SECRET_ACCESS_KEY: must be set when AWS_ACCESS_KEY_ID is$/m);
    expect(s3.output).toMatch(/^  LOG_LEVEL: /m);
    expect(s3.output).toMatch(/^  GPUFLEET_EXECUTERS: /m);
    const folder = start({ ARTIFACT_FSYNC: 'sometimes', GPUFLEET_LEASE_MS: '10' });
    expect(folder.status).toBe(1);
    expect(folder.output).toMatch(/^  ARTIFACT_FSYNC: must be true or false \(got "sometimes"\)$/m);
    expect(folder.output).toMatch(/^  GPUFLEET_LEASE_MS: /m);
  });

  it('refuses a malformed executer manifest, naming the file, the field and the reason', async () => {
    const { status, output } = start({
      REDIS_URL: redis.server.url,
      GPUFLEET_EXECUTERS: BAD_CATALOG,
      GPUFLEET_WORKDIR: await temp.make(),
    });
    expect(status).toBe(1);
    expect(output).toContain('bad-manifest/broken/executer.json');
    expect(output).toMatch(/command\[1\]: must be string/);
    expect(output).toMatch(/resources\.gpus: must be >= 0/);
  });

  it('refuses a GPU UUID that no GPU of the machine has, as a bad setting', async () => {
    const gpu = fakeGpu('H100', 0);
    const smi = await installFakeNvidiaSmi(await temp.make(), {
      driverVersion: '550.54.15',
      cudaVersion: '12.4',
      gpus: [gpu],
    });
    const unknown = 'GPU-deadbeef-0000-4000-8000-000000000000';
    const { status, output } = start({
      PATH: smi.path(),
      REDIS_URL: redis.server.url,
      GPUFLEET_GPUS: `0,${unknown}`,
      GPUFLEET_EXECUTERS: fileURLToPath(new URL('./fixtures/executers', import.meta.url)),
      GPUFLEET_WORKDIR: await temp.make(),
    });
    expect(status).toBe(1);
    expect(output).toMatch(/^gpufleet-tracker: invalid configuration$/m);
    expect(output).toContain(
      `\n  GPUFLEET_GPUS: names ${unknown}, which no GPU of this machine has (nvidia-smi lists ${gpu.uuid} (0))\n`,
    );
  });

  it('refuses a consumer name that a live tracker holds', async () => {
    const fleet = await newFleet();
    await fleet.start('taken-name');
    const { status, output } = start({
      REDIS_URL: redis.server.url,
      GPUFLEET_PREFIX: fleet.prefix,
      REDIS_CONSUMER_NAME: 'taken-name',
      GPUFLEET_EXECUTERS: fileURLToPath(new URL('./fixtures/executers', import.meta.url)),
      GPUFLEET_WORKDIR: await temp.make(),
    });
    expect(status).toBe(1);
    expect(output).toMatch(/CONSUMER_NAME_TAKEN/);
    expect(output).toMatch(/REDIS_CONSUMER_NAME \\?"taken-name\\?" is already used by a live tracker/);
  });
});
