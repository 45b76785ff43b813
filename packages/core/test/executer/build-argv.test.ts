// buildArgv: placeholders become whole arguments, never split or passed through a shell.
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { buildArgv, parseTemplate, type ArgvContext } from '../../src/executers/build-argv.js';

const run = promisify(execFile);

const ctx: ArgvContext = {
  executerDir: '/opt/executers/sph',
  taskDir: '/var/gpufleet/tasks/t1',
  inputDir: '/var/gpufleet/tasks/t1/input',
  outputDir: '/var/gpufleet/tasks/t1/output',
  gpuIds: [0, 3],
  taskId: 't1',
  attempt: 2,
};

const HOSTILE = [
  '; rm -rf /',
  '$(touch canary)',
  '`touch canary`',
  'two\nlines',
  '--help',
  'a b  c',
  '\'"*?',
];

describe('buildArgv', () => {
  it('substitutes context placeholders inside and as whole elements', () => {
    const command = [
      'sph',
      '--out={outputDir}',
      '{inputDir}',
      '{taskDir}',
      '{executerDir}/lib',
      '{taskId}.{attempt}',
    ];
    expect(buildArgv({ command }, ctx, {})).toEqual({
      file: 'sph',
      args: [
        '--out=/var/gpufleet/tasks/t1/output',
        '/var/gpufleet/tasks/t1/input',
        '/var/gpufleet/tasks/t1',
        '/opt/executers/sph/lib',
        't1.2',
      ],
    });
  });

  it('formats gpuIds comma-separated, and as an empty string on CPU', () => {
    const command = ['sph', '{gpuIds}', '--gpus={gpuIds}'];
    expect(buildArgv({ command }, ctx, {}).args).toEqual(['0,3', '--gpus=0,3']);
    expect(buildArgv({ command }, { ...ctx, gpuIds: [] }, {}).args).toEqual(['', '--gpus=']);
  });

  it('keeps hostile strings as single unchanged elements', () => {
    const command = ['sph', ...HOSTILE.map((_, i) => `{param.p${i}}`), '--x={param.p0}'];
    const params = Object.fromEntries(HOSTILE.map((v, i) => [`p${i}`, v]));
    expect(buildArgv({ command }, ctx, params).args).toEqual([...HOSTILE, '--x=; rm -rf /']);
  });

  it('expands an array to one element per item only when the element is exactly the placeholder', () => {
    const command = ['sph', '{param.files}', '--files={param.files}', 'end'];
    const params = { files: ['a b.txt', 'c;d', 3, { k: 1 }] };
    expect(buildArgv({ command }, ctx, params).args).toEqual([
      'a b.txt',
      'c;d',
      '3',
      '{"k":1}',
      '--files=["a b.txt","c;d",3,{"k":1}]',
      'end',
    ]);
    expect(buildArgv({ command }, ctx, { files: [] }).args).toEqual(['--files=[]', 'end']);
  });

  it('drops elements whose parameter is undefined, and stringifies the rest', () => {
    const command = [
      'sph',
      '{param.a}',
      '--b={param.b}',
      '{param.n}',
      '{param.t}',
      '{param.o}',
      '{param.z}',
      'x{{y}}',
    ];
    const args = buildArgv({ command }, ctx, { n: 1.5, t: false, o: { k: [1] }, z: null }).args;
    expect(args).toEqual(['1.5', 'false', '{"k":[1]}', 'null', 'x{y}']);
  });

  it('resolves a relative command with a slash against the executer folder, and leaves a bare name', () => {
    expect(buildArgv({ command: ['./bin/sph'] }, ctx, {}).file).toBe('/opt/executers/sph/bin/sph');
    expect(buildArgv({ command: ['bin/sph'] }, ctx, {}).file).toBe('/opt/executers/sph/bin/sph');
    expect(buildArgv({ command: ['../shared/run'] }, ctx, {}).file).toBe('/opt/executers/shared/run');
    expect(buildArgv({ command: ['python3'] }, ctx, {}).file).toBe('python3');
    expect(buildArgv({ command: ['/usr/bin/env'] }, ctx, {}).file).toBe('/usr/bin/env');
  });

  it("substitutes a service's allocated ports, and refuses a port none was allocated for", () => {
    const command = ['sim', '--http={port.http}', '{port.control}'];
    const ports = { http: 20001, control: 20002 };
    expect(buildArgv({ command }, { ...ctx, ports }, {}).args).toEqual(['--http=20001', '20002']);
    expect(() => buildArgv({ command }, { ...ctx, ports: { http: 20001 } }, {})).toThrow(
      /command\[2\]: no port was allocated for \{port\.control\}/,
    );
    expect(() => buildArgv({ command }, ctx, {})).toThrow(ValidationError);
  });

  it('rejects a program that is empty after substitution, and NUL characters', () => {
    expect(() => buildArgv({ command: ['{param.prog}'] }, ctx, {})).toThrow(ValidationError);
    expect(() => buildArgv({ command: ['sph', '{param.a}'] }, ctx, { a: 'x\0y' })).toThrow(/NUL/);
  });
});

describe('buildArgv with a real process', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'gpufleet-argv-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('hands hostile parameters to the executer unchanged and runs nothing else', async () => {
    const executerDir = path.join(dir, 'executer');
    await mkdir(path.join(executerDir, 'bin'), { recursive: true });
    const script = path.join(executerDir, 'bin', 'echo-args');
    await writeFile(
      script,
      '#!/usr/bin/env node\nprocess.stdout.write(JSON.stringify(process.argv.slice(2)));\n',
    );
    await chmod(script, 0o755);
    const command = ['./bin/echo-args', '{param.items}', '--last={param.last}'];
    const argv = buildArgv({ command }, { ...ctx, executerDir }, { items: HOSTILE, last: '$(touch canary)' });
    expect(argv.file).toBe(script);
    const { stdout } = await run(argv.file, argv.args, { cwd: dir });
    expect(JSON.parse(stdout)).toEqual([...HOSTILE, '--last=$(touch canary)']);
    expect(await readdir(dir)).toEqual(['executer']);
  });
});

describe('parseTemplate', () => {
  it('splits text and placeholders and unescapes doubled braces', () => {
    expect(parseTemplate('--out={outputDir}/x')).toEqual([
      { kind: 'text', text: '--out=' },
      { kind: 'placeholder', name: 'outputDir' },
      { kind: 'text', text: '/x' },
    ]);
    expect(parseTemplate('{{param.x}}')).toEqual([{ kind: 'text', text: '{param.x}' }]);
    expect(parseTemplate('{ "a": 1 }')).toEqual([{ kind: 'text', text: '{ "a": 1 }' }]);
  });
});
