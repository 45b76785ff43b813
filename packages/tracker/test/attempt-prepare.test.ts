// An attempt that ends before its process starts ends with a TaskFailure: its code, the final
// status that code stands for, the reason recorded and what went wrong underneath as its cause.
// A tracker without the task's executer, parameters its schema refuses, an env setup line on a
// tracker that does not run them, an input missing from the store and an input archive that would
// escape its folder, each with the real executers, store and folders; and the argv of a task with
// an env setup line.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  inputsPrefix,
  loadExecuters,
  LocalArtifactStore,
  NotFoundError,
  parseTaskRecord,
  PathEscapeError,
  ValidationError,
  type TaskRecord,
} from '@gpufleet/core';
import { useTempDirs } from '@gpufleet/testkit';
import { TaskFailure } from '../src/errors.js';
import { attemptSpec, prepareProcess } from '../src/run/attempt-prepare.js';
import { createTaskFolder } from '../src/run/task-folder.js';
import { makeTar } from './archive/make-tar.js';
import { FIXTURE_EXECUTERS } from './helpers/fleet.js';

const temp = useTempDirs();

function record(over: Record<string, string> = {}): TaskRecord {
  const id = 'prep' + Math.random().toString(36).slice(2, 10).padEnd(22, '0');
  const hash = { id, status: 'running', executer: 'probe', params: '{}', inputs: '[]', ...over };
  return parseTaskRecord(hash) as TaskRecord;
}

describe('attemptSpec', () => {
  it('ends a task whose executer this tracker lacks dead, NO_EXECUTER', () => {
    const spec = attemptSpec(record(), new Map(), 'gpu-7');
    expect(spec.kind).toBe('end');
    const end = (spec as { end: TaskFailure }).end;
    expect(end).toBeInstanceOf(TaskFailure);
    expect(end).toMatchObject({
      code: 'NO_EXECUTER',
      status: 'dead',
      message: 'tracker "gpu-7" has no executer "probe"',
    });
  });

  it('ends a task whose parameters the executer refuses failed, PARAMS_INVALID, the refusal as cause', async () => {
    const executers = await loadExecuters([FIXTURE_EXECUTERS]);
    expect(attemptSpec(record(), executers, 'gpu-7').kind).toBe('ready');
    const spec = attemptSpec(record({ params: '{"exitCode":"three"}' }), executers, 'gpu-7');
    const end = (spec as { end: TaskFailure }).end;
    expect(end).toMatchObject({ code: 'PARAMS_INVALID', status: 'failed' });
    expect(end.message).toMatch(/params\.exitCode: must be integer/);
    expect(end.cause).toBeInstanceOf(ValidationError);
  });

  it('ends a task with an env setup line failed, ENV_SETUP_NOT_ALLOWED, unless the tracker runs them', async () => {
    const executers = await loadExecuters([FIXTURE_EXECUTERS]);
    const withLine = record({ envSetup: 'export A=1' });
    const end = (attemptSpec(withLine, executers, 'gpu-7') as { end: TaskFailure }).end;
    expect(end).toMatchObject({
      code: 'ENV_SETUP_NOT_ALLOWED',
      status: 'failed',
      message: 'tracker "gpu-7" does not run env setup lines (GPUFLEET_ALLOW_ENV_SETUP is off)',
    });
    expect(attemptSpec(withLine, executers, 'gpu-7', true).kind).toBe('ready');
  });
});

describe('prepareProcess', () => {
  async function prepare(
    inputs: Array<{ name: string }>,
    put?: (store: LocalArtifactStore, r: TaskRecord) => Promise<unknown>,
    fields: Record<string, string> = {},
    gpuMps = 'off',
    allowEnvSetup = false,
  ) {
    const dir = await temp.make();
    const store = new LocalArtifactStore(join(dir, 'artifacts'));
    const executers = await loadExecuters([FIXTURE_EXECUTERS]);
    const r = record({ inputs: JSON.stringify(inputs), ...fields });
    await put?.(store, r);
    const spec = attemptSpec(r, executers, 'gpu-7', allowEnvSetup);
    if (spec.kind !== 'ready') throw new Error('expected a ready spec');
    const folder = await createTaskFolder(join(dir, 'work'), r.id, 1);
    return prepareProcess({ store, baseEnv: {}, preemptGraceMs: 1234, gpuMps }, spec, folder, 1, [0]);
  }

  it('ends a task whose input is missing from the store failed, INPUTS_UNAVAILABLE', async () => {
    const end = await prepare([{ name: 'absent.txt' }]);
    expect(end).toBeInstanceOf(TaskFailure);
    expect(end).toMatchObject({ code: 'INPUTS_UNAVAILABLE', status: 'failed' });
    expect((end as TaskFailure).message).toMatch(/^inputs refused: NOT_FOUND: /);
    expect((end as TaskFailure).cause).toBeInstanceOf(NotFoundError);
  });

  it('ends a task whose input archive would escape its folder failed, INPUTS_REFUSED', async () => {
    const end = await prepare([{ name: 'evil.tar' }], (store, r) =>
      store.put(
        `${inputsPrefix(r.tenant, r.id)}/evil.tar`,
        makeTar([{ name: '../escaped.txt', type: '0', body: 'pwned' }]),
      ),
    );
    expect(end).toMatchObject({ code: 'INPUTS_REFUSED', status: 'failed' });
    expect((end as TaskFailure).message).toMatch(/^inputs refused: PATH_ESCAPE: /);
    expect((end as TaskFailure).cause).toBeInstanceOf(PathEscapeError);
  });

  it('runs a task’s env setup line through bash first, the argv passed on as "$@"', async () => {
    const spec = (await prepare([], undefined, { envSetup: 'export A=1' }, 'off', true)) as {
      file: string;
      args: string[];
    };
    expect(spec.file).toBe('/bin/bash');
    expect(spec.args.slice(0, 1)).toEqual(['-c']);
    expect(spec.args.slice(2, 4)).toEqual(['gpufleet-env', 'node']);
    expect(spec.args[1]).toContain(`eval 'export A=1'`);
    expect(spec.args[1]).toMatch(/\nexec "\$@"$/);
  });

  it('builds the process of a task whose inputs are all there', async () => {
    const end = await prepare([]);
    expect(end).not.toBeInstanceOf(TaskFailure);
    expect(end).toMatchObject({ file: 'node' });
  });

  it('tells a preemptible task, and only one, the signal and grace a preemption stops it with', async () => {
    const plain = (await prepare([])) as { env: Record<string, string> };
    expect(Object.keys(plain.env).filter((k) => k.startsWith('GPUFLEET_PREEMPT'))).toEqual([]);
    const preemptible = (await prepare([], undefined, { preemptible: '1' })) as {
      env: Record<string, string>;
    };
    expect(preemptible.env).toMatchObject({
      GPUFLEET_PREEMPT_SIGNAL: 'SIGTERM',
      GPUFLEET_PREEMPT_GRACE_MS: '1234',
    });
  });

  it('tells a task that shares its GPU its share, and limits it to the share as an MPS client where MPS runs', async () => {
    const env = async (fields: Record<string, string>, mps: string) =>
      ((await prepare([], undefined, fields, mps)) as { env: Record<string, string> }).env;
    const mpsKeys = (e: Record<string, string>) => Object.keys(e).filter((k) => k.startsWith('CUDA_MPS'));
    const whole = await env({}, 'off');
    expect(whole['GPUFLEET_GPU_SHARE_MIB']).toBeUndefined();
    const noMps = await env({ gpuShareMiB: '10240' }, 'off');
    expect(noMps['GPUFLEET_GPU_SHARE_MIB']).toBe('10240');
    expect(mpsKeys(noMps)).toEqual([]);
    // An MPS pipe folder without its control pipe: MPS does not run there.
    const pipes = await temp.make();
    expect(mpsKeys(await env({ gpuShareMiB: '10240' }, pipes))).toEqual([]);
    await writeFile(join(pipes, 'control'), '');
    expect(await env({ gpuShareMiB: '10240' }, pipes)).toMatchObject({
      GPUFLEET_GPU_SHARE_MIB: '10240',
      CUDA_MPS_PIPE_DIRECTORY: pipes,
      CUDA_MPS_PINNED_DEVICE_MEM_LIMIT: '0=10240M',
    });
    expect(mpsKeys(await env({}, pipes))).toEqual([]);
  });
});
