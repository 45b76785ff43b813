// The script executer: with opt-in enabled, a tracker runs the user's own program from the task's
// inputs on the GPUs it was given ({gpuIds} in its arguments, CUDA_VISIBLE_DEVICES in its
// environment), in the script's own folder, keeping what it writes; a script path that leaves the inputs is
// refused. Without opt-in the tracker does not load it, so the queue refuses such tasks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueue, inputsPrefix, loadExecuters, UnknownExecuterError } from '@gpufleet/core';
import { CATALOG_DIR } from '@gpufleet/executers';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { startCatalogFleet, type CatalogFleet } from './helpers/fleet.js';

const redis = useRedis();
const temp = useTempDirs();
let enabled: CatalogFleet;
let disabled: CatalogFleet;

// The user's program: reports what it was given and writes an output file.
const USER_SCRIPT = `#!${process.execPath}
const fs = require('node:fs');
const [flag, gpus, out] = process.argv.slice(2);
fs.writeFileSync(out + '/seen.json', JSON.stringify({
  flag, gpus, cudaVisibleDevices: process.env.CUDA_VISIBLE_DEVICES, cwd: process.cwd(),
  data: fs.readFileSync('data/weights.txt', 'utf8'),
}));
console.log('trained on GPUs ' + gpus);
`;

beforeAll(async () => {
  enabled = await startCatalogFleet(redis, temp, { gpuIds: [0, 1, 2], allowOptInExecuters: true });
  disabled = await startCatalogFleet(redis, temp, { gpuIds: [0, 1, 2], allowOptInExecuters: false });
});

afterAll(async () => {
  await Promise.all([enabled.tracker.close(), disabled.tracker.close()]);
});

function newId(tag: string): string {
  return (tag + Math.random().toString(36).slice(2)).padEnd(26, '0').slice(0, 26);
}

async function upload(fleet: CatalogFleet, id: string, files: Record<string, string>): Promise<void> {
  for (const [name, body] of Object.entries(files)) {
    await fleet.store.put(`${inputsPrefix('default', id)}/${name}`, Buffer.from(body));
  }
}

describe('script executer', () => {
  it('runs the user’s script on the GPUs the task was given, when opt-in is enabled', async () => {
    const id = newId('script');
    await upload(enabled, id, { 'job/train.js': USER_SCRIPT, 'job/data/weights.txt': 'w=1' });
    const task = await enabled.run(
      {
        executer: 'script',
        gpus: 2,
        inputs: [{ name: 'job/train.js' }, { name: 'job/data/weights.txt' }],
        params: { script: 'job/train.js', args: ['--gpus', '{gpuIds}', '{outputDir}'] },
      },
      { id },
    );
    expect(task.status, task.error ?? '').toBe('succeeded');
    expect(task.gpuIds).toHaveLength(2);
    const seen = JSON.parse((await enabled.output(task, 'seen.json')).toString('utf8')) as Record<
      string,
      string
    >;
    expect(seen['flag']).toBe('--gpus');
    expect(seen['gpus']).toBe(task.gpuIds.join(','));
    expect(seen['cudaVisibleDevices']).toBe(task.gpuIds.join(','));
    expect(seen['cwd']).toMatch(/\/inputs\/job$/);
    expect(seen['data']).toBe('w=1');
    expect((await enabled.output(task, 'stdout.txt')).toString()).toContain(
      `trained on GPUs ${task.gpuIds.join(',')}`,
    );
  });

  it('runs a script without a #! line through the interpreter the task names', async () => {
    const id = newId('interp');
    await upload(enabled, id, { 'hello.js': 'console.log("hello from", process.argv[2]);' });
    const task = await enabled.run(
      {
        executer: 'script',
        gpus: 1,
        inputs: [{ name: 'hello.js' }],
        params: { script: 'hello.js', interpreter: 'node', args: ['gpu-{gpuIds}'] },
      },
      { id },
    );
    expect(task.status, task.error ?? '').toBe('succeeded');
    expect((await enabled.output(task, 'stdout.txt')).toString()).toBe(
      `hello from gpu-${task.gpuIds.join(',')}\n`,
    );
  });

  it('fails a task whose script is missing or outside its inputs, saying so', async () => {
    for (const [script, reason] of [
      ['../../../../etc/passwd', "is outside the task's inputs"],
      ['nope.js', 'is not among the inputs (found: real.js)'],
    ] as const) {
      const id = newId('escape');
      await upload(enabled, id, { 'real.js': USER_SCRIPT });
      const spec = { executer: 'script', inputs: [{ name: 'real.js' }], params: { script } };
      const task = await enabled.run(spec, { id });
      expect(task.status).toBe('failed');
      expect(task.exitCode).toBe(2);
      expect(task.error).toContain(reason);
    }
  });

  it('is not loaded without opt-in, so the queue refuses script tasks', async () => {
    const loaded = await loadExecuters([CATALOG_DIR]);
    expect([...loaded.keys()].sort()).toEqual(['dualsphysics', 'noop', 'sim-server', 'sph']);
    expect(loaded.skipped).toEqual([
      expect.objectContaining({ name: 'script', reason: expect.stringContaining('requires opt-in') }),
    ]);
    expect(disabled.tracker.info().executers).not.toContain('script');
    expect(enabled.tracker.info().executers).toContain('script');
    const refused = await enqueue(
      { redis: disabled.client, prefix: disabled.prefix },
      { executer: 'script', params: { script: 'train.js' } },
    ).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UnknownExecuterError);
  });
});
