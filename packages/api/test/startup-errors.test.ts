// The API refuses to start on a bad configuration, naming every bad variable at once: the artifact
// store's settings (ARTIFACT_STORE, ARTIFACT_FSYNC, S3_*, AWS_*) with the rest, checked by
// loadApiConfig at start-up. Also loadApiConfig's own view of them, and a keys file whose
// `tenants` settings are bad (checked as the server starts).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@gpufleet/core';
import { useTempDirs } from '@gpufleet/testkit';
import { loadApiConfig } from '@gpufleet/api';
import { API_BIN } from './helpers/api-process.js';

const temp = useTempDirs();
const TOKEN = 'startup-test-token-8e2f4a';

/** Runs the built gpufleet-api bin in a folder of its own (no `.env`) with `env`. */
async function start(env: Record<string, string>): Promise<{ status: number | null; output: string }> {
  if (!existsSync(API_BIN)) throw new Error(`${API_BIN} is missing: build first (npm run build)`);
  const result = spawnSync(process.execPath, [API_BIN], {
    cwd: await temp.make(),
    env: { PATH: process.env.PATH ?? '', GPUFLEET_API_TOKEN: TOKEN, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function fieldsOf(env: Record<string, string>): string[] {
  try {
    loadApiConfig({ GPUFLEET_API_TOKEN: TOKEN, ...env }, '/srv');
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => i.field).sort();
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('API start-up errors', () => {
  it('loadApiConfig reports bad artifact store settings with the other bad variables', () => {
    expect(
      fieldsOf({ ARTIFACT_STORE: 's3://Bad_Bucket', S3_REGION: 'EU West', GPUFLEET_API_PORT: 'http' }),
    ).toEqual(['ARTIFACT_STORE', 'GPUFLEET_API_PORT', 'S3_REGION']);
    expect(fieldsOf({ ARTIFACT_FSYNC: 'sometimes', GPUFLEET_PREFIX: 'a b' })).toEqual([
      'ARTIFACT_FSYNC',
      'GPUFLEET_PREFIX',
    ]);
    expect(
      loadApiConfig({ GPUFLEET_API_TOKEN: TOKEN, ARTIFACT_STORE: 'store', ARTIFACT_FSYNC: 'no' }, '/srv')
        .artifactStoreSettings,
    ).toEqual({ kind: 'local', root: '/srv/store', fsync: false });
  });

  it('the bin names every bad variable, the artifact store settings included, and exits 1', async () => {
    const s3 = await start({
      ARTIFACT_STORE: 's3://fleet-artifacts/prod',
      S3_FORCE_PATH_STYLE: 'maybe',
      AWS_SECRET_ACCESS_KEY: 'secret',
      GPUFLEET_API_PORT: 'http',
    });
    expect(s3.status, s3.output).toBe(1);
    expect(s3.output).toMatch(/^gpufleet-api: invalid configuration$/m);
    expect(s3.output).toMatch(/^  S3_FORCE_PATH_STYLE: must be true or false \(got "maybe"\)$/m);
    expect(s3.output).toMatch(/^  AWS_ACCESS_KEY_ID: must be set when AWS_SECRET_ACCESS_KEY is$/m);
    expect(s3.output).toMatch(/^  GPUFLEET_API_PORT: /m);
    const folder = await start({ ARTIFACT_FSYNC: 'sometimes', LOG_LEVEL: 'loud' });
    expect(folder.status, folder.output).toBe(1);
    expect(folder.output).toMatch(/^  ARTIFACT_FSYNC: must be true or false \(got "sometimes"\)$/m);
    expect(folder.output).toMatch(/^  LOG_LEVEL: /m);
  });

  it('the bin refuses a keys file with bad tenant settings, naming each field, and exits 1', async () => {
    const file = join(await temp.make(), 'keys.json');
    const key = { name: 'a', tenant: 'alice', role: 'user', sha256: 'a'.repeat(64) };
    await writeFile(
      file,
      JSON.stringify({
        keys: [key],
        tenants: { alice: { maxWaitingTasks: -5 }, carol: { maxWaitingTasks: 1 } },
      }),
    );
    const result = await start({ GPUFLEET_API_KEYS_FILE: file, GPUFLEET_MAX_WAITING_TASKS: '10' });
    expect(result.status, result.output).toBe(1);
    expect(result.output).toMatch(/^gpufleet-api: invalid configuration$/m);
    expect(result.output).toMatch(
      /^  GPUFLEET_API_KEYS_FILE \(.*\) tenants\.alice\.maxWaitingTasks: must be an integer >= 0$/m,
    );
    expect(result.output).toMatch(
      /^  GPUFLEET_API_KEYS_FILE \(.*\) tenants\.carol: no key in the file belongs to this tenant$/m,
    );
    const env = await start({ GPUFLEET_MAX_WAITING_TASKS: '-1' });
    expect(env.status, env.output).toBe(1);
    expect(env.output).toMatch(/^  GPUFLEET_MAX_WAITING_TASKS: must be at least 0 \(got -1\)$/m);
  });
});
