// A service executer's `service` block reaches the queue's catalog as the manifest declares it,
// defaults filled in, and a batch executer's entry is published as before, without the field
// (src/tracker-connections.ts catalogEntries, from executers loaded off disk).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExecuters } from '@gpufleet/core';
import { useTempDirs } from '@gpufleet/testkit';
import { catalogEntries } from '../src/tracker-connections.js';

const temp = useTempDirs();

async function catalogOf(manifests: Array<Record<string, unknown>>): Promise<Map<string, unknown>> {
  const root = await temp.make();
  for (const manifest of manifests) {
    const dir = join(root, String(manifest['name']));
    await mkdir(dir);
    await writeFile(join(dir, 'executer.json'), JSON.stringify(manifest));
  }
  const entries = catalogEntries(await loadExecuters([root]), 'tracker-a', 1);
  return new Map(entries.map((e) => [e.name, JSON.parse(JSON.stringify(e)) as unknown]));
}

describe('the catalog entry of a service executer', () => {
  it('carries the service block, and a batch executer’s entry stays as it was', async () => {
    const catalog = await catalogOf([
      {
        name: 'sim',
        version: '1',
        command: ['./sim', '--port={port.control}'],
        resources: { gpus: 1 },
        service: { ports: ['control'], ready: { stdout: '^ready$' }, idleTimeoutMs: 600_000 },
      },
      { name: 'batch', version: '1', command: ['./run'] },
    ]);
    expect(catalog.get('sim')).toMatchObject({
      gpus: 1,
      service: {
        ports: ['control'],
        ready: { stdout: '^ready$' },
        startTimeoutMs: 60_000,
        idleTimeoutMs: 600_000,
      },
    });
    expect(Object.keys(catalog.get('batch') as object).sort()).toEqual([
      'description',
      'gpus',
      'name',
      'params',
      'timeLimitMs',
      'tracker',
      'updatedAt',
      'version',
    ]);
  });
});
