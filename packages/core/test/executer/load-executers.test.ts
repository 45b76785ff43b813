// loadExecuters against real temp folders: single executers, catalogs, duplicates, opt-in, bad files.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManifestError } from '../../src/errors.js';
import { loadExecuters } from '../../src/executers/load-executers.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'gpufleet-executers-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes `<root>/<rel>/executer.json` (a string is written as is) and returns the folder. */
async function writeExecuter(rel: string, manifest: unknown): Promise<string> {
  const dir = path.join(root, rel);
  await mkdir(dir, { recursive: true });
  const text = typeof manifest === 'string' ? manifest : JSON.stringify(manifest, null, 2);
  await writeFile(path.join(dir, 'executer.json'), text);
  return dir;
}

const SPH = {
  name: 'sph',
  version: '1.2.0',
  description: '2-D dam break',
  command: ['./bin/sph', '--steps', '{param.steps}', '--out={outputDir}', '{gpuIds}'],
  params: {
    type: 'object',
    properties: { steps: { type: 'integer', minimum: 1, default: 100 } },
    additionalProperties: false,
  },
  resources: { gpus: 1, timeLimitMs: 3_600_000 },
  env: { OMP_NUM_THREADS: '4' },
};

/** The ManifestError that loading `paths` throws. */
async function loadError(paths: string[]): Promise<ManifestError> {
  const err: unknown = await loadExecuters(paths).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ManifestError);
  return err as ManifestError;
}

describe('loadExecuters', () => {
  it('loads one executer folder with absolute paths and a params validator', async () => {
    const dir = await writeExecuter('sph', SPH);
    const relative = path.relative(process.cwd(), dir);
    const executers = await loadExecuters([relative]);
    expect([...executers.keys()]).toEqual(['sph']);
    const sph = executers.get('sph');
    expect(sph?.dir).toBe(dir);
    expect(sph?.file).toBe(path.join(dir, 'executer.json'));
    expect(sph?.manifest.resources).toEqual({ gpus: 1, timeLimitMs: 3_600_000 });
    expect(sph?.manifest.requiresOptIn).toBe(false);
    expect(sph?.validateParams({})).toEqual({ steps: 100 });
    expect(executers.skipped).toEqual([]);
  });

  it('loads every direct subfolder of a catalog that holds an executer.json', async () => {
    await writeExecuter('catalog/sph', SPH);
    await writeExecuter('catalog/echo', { name: 'echo', version: '1', command: ['echo', 'hi'] });
    await mkdir(path.join(root, 'catalog/not-an-executer'));
    await writeExecuter('catalog/deeper/nested', { name: 'nested', version: '1', command: ['x'] });
    const executers = await loadExecuters([path.join(root, 'catalog')]);
    expect([...executers.keys()]).toEqual(['echo', 'sph']);
    expect(executers.get('echo')?.dir).toBe(path.join(root, 'catalog/echo'));
  });

  it('rejects a name that two folders define, naming the second file and the first', async () => {
    await writeExecuter('a/sph', SPH);
    const second = await writeExecuter('b/sph', { ...SPH, version: '2' });
    const err = await loadError([path.join(root, 'a'), path.join(root, 'b')]);
    expect(err.file).toBe(path.join(second, 'executer.json'));
    expect(err.message).toContain(path.join(second, 'executer.json'));
    expect(err.issues).toEqual([
      {
        field: 'name',
        reason: `executer "sph" is already defined by ${path.join(root, 'a/sph/executer.json')}`,
      },
    ]);
  });

  it('skips executers that require opt-in unless it is allowed', async () => {
    await writeExecuter('catalog/sph', SPH);
    const py = await writeExecuter('catalog/python', {
      name: 'python',
      version: '3',
      command: ['python3', '{param.script}'],
      params: { type: 'object', properties: { script: { type: 'string' } } },
      requiresOptIn: true,
    });
    const without = await loadExecuters([path.join(root, 'catalog')]);
    expect([...without.keys()]).toEqual(['sph']);
    expect(without.skipped).toEqual([
      { name: 'python', file: path.join(py, 'executer.json'), reason: expect.stringContaining('opt-in') },
    ]);
    const withOptIn = await loadExecuters([path.join(root, 'catalog')], { allowOptIn: true });
    expect([...withOptIn.keys()].sort()).toEqual(['python', 'sph']);
    expect(withOptIn.skipped).toEqual([]);
  });

  it('rejects a path that does not exist or holds no executer', async () => {
    const missing = path.join(root, 'missing');
    const err = await loadError([missing]);
    expect(err.message).toContain(missing);
    expect(err.issues).toEqual([{ field: 'path', reason: 'does not exist' }]);
    await mkdir(path.join(root, 'empty'));
    expect((await loadError([path.join(root, 'empty')])).issues[0]?.reason).toContain(
      'holds no executer.json',
    );
  });

  it('reports invalid JSON with its line and column', async () => {
    const dir = await writeExecuter('broken', '{\n  "name": "a",\n  "version": "1",,\n}');
    const err = await loadError([dir]);
    expect(err.file).toBe(path.join(dir, 'executer.json'));
    expect(err.message).toContain(path.join(dir, 'executer.json'));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]?.field).toBe('json');
    expect(err.issues[0]?.reason).toMatch(/^is not valid JSON: .*line 3,? column \d+/);
  });

  const base = { name: 'x', version: '1', command: ['run'] };
  it.each([
    ['missing name', { version: '1', command: ['run'] }, 'name: is required'],
    ['bad name', { ...base, name: 'Has Spaces' }, 'name: must match pattern'],
    ['command not an array', { ...base, command: 'run --fast' }, 'command: must be array'],
    ['empty command', { ...base, command: [] }, 'command: must NOT have fewer than 1 items'],
    ['command[1] a number', { ...base, command: ['run', 5] }, 'command[1]: must be string'],
    [
      'unknown placeholder',
      { ...base, command: ['run', '--x={nope}'] },
      'command[1]: unknown placeholder {nope}',
    ],
    [
      'undeclared parameter',
      { ...base, command: ['run', '{param.missing}'] },
      'command[1]: {param.missing} is not',
    ],
    [
      'invalid params schema',
      { ...base, params: { type: 'object', properties: { a: { type: 'nonsense' } } } },
      'params.properties.a.type: must be one of',
    ],
    ['negative gpus', { ...base, resources: { gpus: -1 } }, 'resources.gpus: must be >= 0'],
  ])('rejects a manifest with %s, naming the file and the field', async (_label, manifest, expected) => {
    const dir = await writeExecuter('bad', manifest);
    const err = await loadError([dir]);
    expect(err.code).toBe('MANIFEST_INVALID');
    expect(err.message).toContain(`invalid executer manifest ${path.join(dir, 'executer.json')}: `);
    expect(err.message).toContain(expected);
  });
});
