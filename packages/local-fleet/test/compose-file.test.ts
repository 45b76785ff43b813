// docker-compose.yml and the Dockerfile, checked without a Docker engine: every variable the
// compose file (and the image) sets for a service is one that service's configuration reads and
// accepts; volumes, networks and build targets line up; Redis keeps data and never evicts; the
// trackers get GPUs (or a CPU profile) and unique consumer names; they stop after their grace.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadApiConfig } from '@gpufleet/api';
import { openArtifactStore, type Env } from '@gpufleet/core';
import { loadTrackerConfig, TRACKER_DEFAULTS } from '@gpufleet/tracker';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const TOKEN = 'compose-test-token-0123456789';

interface Service {
  build?: { context: string; target?: string; args?: Record<string, string> };
  environment?: Record<string, string>;
  volumes?: string[];
  networks?: string[];
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
  deploy?: { resources?: { reservations?: { devices?: Array<{ driver: string; capabilities: string[] }> } } };
  stop_grace_period?: string;
  command?: string[];
  healthcheck?: { test: string[] };
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  networks: Record<string, unknown>;
}

/** The compose file with `${VAR:?message}` interpolated as docker compose would (given VAR). */
function compose(): Compose {
  const text = readFileSync(`${root}docker-compose.yml`, 'utf8').replace(
    /\$\{GPUFLEET_API_TOKEN:\?[^}]*\}/g,
    TOKEN,
  );
  return parse(text, { merge: true }) as Compose;
}

/** ENV lines of one Dockerfile stage. */
function imageEnv(stage: string): Record<string, string> {
  const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8').replace(/\\\n/g, ' ');
  const body =
    dockerfile
      .split(/^FROM /m)
      .find((part) => new RegExp(`AS ${stage}\\b`).test(part.split('\n')[0] ?? '')) ?? '';
  const env: Record<string, string> = {};
  for (const line of body.split('\n').filter((l) => l.startsWith('ENV '))) {
    for (const [, key, value] of line.slice(4).matchAll(/([A-Z_]+)=(\S+)/g))
      env[key as string] = value as string;
  }
  return env;
}

/** Runs `load` on `env` and returns the names it read. */
function namesRead(env: Env, load: (env: Env) => void): Set<string> {
  const read = new Set<string>();
  const proxy = new Proxy(env, {
    get: (target, key) => (typeof key === 'string' && read.add(key), target[key as string]),
  });
  load(proxy);
  return read;
}

const loaders: Record<string, { stage: string; load: (env: Env) => void }> = {
  api: {
    stage: 'api',
    load: (env) => void openArtifactStore(loadApiConfig(env, '/').artifactStoreSettings),
  },
  tracker: {
    stage: 'runtime',
    load: (env) => void openArtifactStore(loadTrackerConfig(env, '/').artifactStoreSettings),
  },
  'tracker-cpu': {
    stage: 'runtime',
    load: (env) => void openArtifactStore(loadTrackerConfig(env, '/').artifactStoreSettings),
  },
};

describe('docker-compose.yml', () => {
  const file = compose();

  it('sets for each service only variables it reads, with values its configuration accepts', () => {
    for (const [name, { stage, load }] of Object.entries(loaders)) {
      const service = file.services[name];
      expect(service, name).toBeDefined();
      const env = { ...imageEnv(stage), ...service?.environment };
      const read = namesRead(env, load); // throws ConfigError on a bad value
      const ignored = Object.keys(env).filter((key) => !read.has(key) && key !== 'NODE_ENV');
      expect(ignored, `${name} sets variables it never reads`).toEqual([]);
      expect(
        env.REDIS_CONSUMER_NAME,
        `${name}: consumer names come from each container's host name`,
      ).toBeUndefined();
    }
  });

  it('points every service at the shared Redis and the shared artifact volume', () => {
    for (const name of Object.keys(loaders)) {
      const service = file.services[name] as Service;
      expect(service.environment?.REDIS_URL).toBe('redis://redis:6379');
      expect(service.environment?.ARTIFACT_STORE).toBe('/mnt/artifacts');
      expect(service.volumes).toContain('artifacts:/mnt/artifacts');
      expect(service.depends_on?.redis?.condition).toBe('service_healthy');
    }
    const declared = new Set(Object.keys(file.volumes));
    const networks = new Set(Object.keys(file.networks));
    for (const [name, service] of Object.entries(file.services)) {
      for (const volume of service.volumes ?? [])
        expect(declared, `${name}: ${volume}`).toContain(volume.split(':')[0]);
      for (const network of service.networks ?? [])
        expect(networks, `${name}: ${network}`).toContain(network);
    }
  });

  it('keeps Redis durable and never evicting, with a health check', () => {
    const redis = file.services.redis as Service;
    expect(redis.command?.join(' ')).toMatch(/--appendonly yes .*--maxmemory-policy noeviction/);
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(redis.volumes).toContain('redis-data:/data');
  });

  it('reserves GPUs for the tracker, has a CPU profile, and waits out the shutdown grace', () => {
    const gpu = file.services.tracker as Service;
    expect(gpu.deploy?.resources?.reservations?.devices?.[0]).toMatchObject({
      driver: 'nvidia',
      capabilities: ['gpu'],
    });
    const cpu = file.services['tracker-cpu'] as Service;
    expect(cpu.profiles).toEqual(['cpu']);
    expect(cpu.environment?.GPUFLEET_GPUS).toBe('none');
    expect(cpu.deploy).toBeUndefined();
    const graceMs = TRACKER_DEFAULTS.shutdownGraceMs + TRACKER_DEFAULTS.killGraceMs;
    for (const service of [gpu, cpu])
      expect(Number.parseInt(service.stop_grace_period ?? '0', 10) * 1000).toBeGreaterThan(graceMs);
  });

  it('builds each service from a stage the Dockerfile has', () => {
    const stages = [...readFileSync(`${root}Dockerfile`, 'utf8').matchAll(/^FROM \S+ AS (\S+)/gm)].map(
      (m) => m[1],
    );
    for (const [name, service] of Object.entries(file.services)) {
      if (service.build) expect(stages, name).toContain(service.build.target);
    }
  });
});
