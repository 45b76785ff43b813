// The dualsphysics executer without DualSPHysics: its manifest maps a task to the launcher's argv,
// and the launcher maps a case folder to GenCase, the solver and PartVTK command lines. Fake
// binaries that record their arguments stand in for the real ones, so a tracker can run the whole
// chain through the queue; the real solver needs its image and a GPU (see the README).
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  buildArgv,
  enqueue,
  inputsPrefix,
  loadExecuters,
  ValidationError,
  type LoadedExecuter,
} from '@gpufleet/core';
import { CATALOG_DIR } from '@gpufleet/executers';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { startCatalogFleet, type CatalogFleet } from './helpers/fleet.js';

const redis = useRedis();
const temp = useTempDirs();
let fleet: CatalogFleet;
let binDir: string;
let logFile: string;
let failFile: string;

// One fake for every DualSPHysics tool: logs its name, argv, cwd and GPUs, writes what the real one
// would, and exits 7 when the file FAKE_DSPH_FAIL names it (the tracker reads its environment
// once, when it starts, so what changes between tests goes through files).
const FAKE = `#!${process.execPath}
const fs = require('node:fs');
const path = require('node:path');
const tool = path.basename(process.argv[1]);
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_DSPH_LOG, JSON.stringify({ tool, args, cwd: process.cwd(),
  gpus: process.env.CUDA_VISIBLE_DEVICES, ld: process.env.LD_LIBRARY_PATH }) + '\\n');
const failing = fs.existsSync(process.env.FAKE_DSPH_FAIL) ? fs.readFileSync(process.env.FAKE_DSPH_FAIL, 'utf8') : '';
if (failing === tool) process.exit(7);
if (tool.startsWith('GenCase')) fs.writeFileSync(args[1] + '.bi4', 'case');
if (tool.startsWith('DualSPHysics')) {
  fs.mkdirSync(path.join(args[2], 'data'), { recursive: true });
  fs.writeFileSync(path.join(args[2], 'data', 'Part_0000.bi4'), 'particles');
}
if (tool.startsWith('PartVTK')) {
  const prefix = args[args.indexOf('-savevtk') + 1];
  fs.mkdirSync(path.dirname(prefix), { recursive: true });
  fs.writeFileSync(prefix + '_0000.vtk', 'vtk');
}
`;
const TOOLS = [
  'GenCase_linux64',
  'DualSPHysics5.2_linux64',
  'DualSPHysics5.4_linux64',
  'DualSPHysics5.4CPU_linux64',
  'PartVTK_linux64',
];

interface LogEntry {
  tool: string;
  args: string[];
  cwd: string;
  gpus: string;
  ld: string;
}

beforeAll(async () => {
  binDir = await temp.make();
  for (const tool of TOOLS) {
    await writeFile(join(binDir, tool), FAKE);
    await chmod(join(binDir, tool), 0o755);
  }
  const control = await temp.make();
  logFile = join(control, 'calls.ndjson');
  failFile = join(control, 'fail');
  process.env['DUALSPHYSICS_BIN_DIR'] = binDir;
  process.env['FAKE_DSPH_LOG'] = logFile;
  process.env['FAKE_DSPH_FAIL'] = failFile;
  fleet = await startCatalogFleet(redis, temp, { gpuIds: [0, 1] });
});

beforeEach(async () => {
  await writeFile(logFile, '');
  await rm(failFile, { force: true });
});

afterAll(async () => {
  await fleet.tracker.close();
});

async function calls(): Promise<LogEntry[]> {
  const text = await readFile(logFile, 'utf8');
  return text.trim() === ''
    ? []
    : text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as LogEntry);
}

async function runCase(params: Record<string, unknown>, files: Record<string, string>) {
  const id = ('dsph' + Math.random().toString(36).slice(2)).padEnd(26, '0').slice(0, 26);
  for (const [name, body] of Object.entries(files)) {
    await fleet.store.put(`${inputsPrefix('default', id)}/${name}`, Buffer.from(body));
  }
  const inputs = Object.keys(files).map((name) => ({ name }));
  return fleet.run({ executer: 'dualsphysics', params, inputs }, { id });
}

describe('dualsphysics manifest and argv mapping', () => {
  it('maps task parameters to the launcher’s argv, and the launcher maps the case to three command lines', async () => {
    const executer = (await loadExecuters([join(CATALOG_DIR, 'dualsphysics')])).get(
      'dualsphysics',
    ) as LoadedExecuter;
    expect(executer.manifest.resources).toEqual({ gpus: 1, timeLimitMs: 86_400_000 });
    const params = executer.validateParams({ tmax: 1.5, solverArgs: ['-stable', '-sv:vtk'] });
    const inputDir = await temp.make();
    await writeFile(join(inputDir, 'CaseDambreak_Def.xml'), '<case/>');
    const ctx = {
      executerDir: executer.dir,
      taskDir: '/t',
      inputDir,
      outputDir: '/t/outputs',
      gpuIds: [3],
      taskId: 'x',
      attempt: 1,
    };
    const argv = buildArgv(executer.manifest, ctx, params);
    expect(argv.file).toBe('node');
    expect(argv.args).toEqual([
      join(executer.dir, 'run-dualsphysics.mjs'),
      '--inputs',
      inputDir,
      '--outputs',
      '/t/outputs',
      '--device=gpu',
      '--tmax=1.5',
      '--vtk=true',
      '--',
      '-stable',
      '-sv:vtk',
    ]);
    const args = [...argv.args];
    args.splice(args.indexOf('--'), 0, '--dry-run');
    const { stdout } = await promisify(execFile)(process.execPath, args, {
      env: { ...process.env, DUALSPHYSICS_BIN_DIR: '/opt/dsph' },
    });
    const plan = JSON.parse(stdout) as { case: string; steps: Array<{ name: string; argv: string[] }> };
    expect(plan.case).toBe('CaseDambreak');
    expect(plan.steps.map((s) => s.argv)).toEqual([
      [
        '/opt/dsph/GenCase_linux64',
        join(inputDir, 'CaseDambreak_Def'),
        '/t/outputs/CaseDambreak/CaseDambreak',
        '-save:all',
      ],
      [
        '/opt/dsph/DualSPHysics5_linux64',
        '-gpu:0',
        '/t/outputs/CaseDambreak/CaseDambreak',
        '/t/outputs/CaseDambreak',
        '-dirdataout',
        'data',
        '-svres',
        '-tmax:1.5',
        '-stable',
        '-sv:vtk',
      ],
      [
        '/opt/dsph/PartVTK_linux64',
        '-dirin',
        '/t/outputs/CaseDambreak/data',
        '-savevtk',
        '/t/outputs/CaseDambreak/particles/PartFluid',
        '-onlytype:-all,+fluid',
      ],
    ]);
  });

  it('refuses solver arguments that are not options, and unknown parameters', async () => {
    const deps = { redis: fleet.client, prefix: fleet.prefix };
    for (const params of [{ solverArgs: ['; rm -rf /'] }, { tmax: 0 }, { device: 'tpu' }, { mpi: true }]) {
      const error = await enqueue(deps, { executer: 'dualsphysics', params }).catch((e: unknown) => e);
      expect(error, JSON.stringify(params)).toBeInstanceOf(ValidationError);
    }
  });
});

describe('dualsphysics through the queue (fake binaries)', () => {
  const files = { 'case/CaseDambreak_Def.xml': '<case/>', 'case/wall.stl': 'solid' };

  it('runs GenCase, the newest GPU solver on the task’s GPU, then PartVTK, and keeps their outputs', async () => {
    const task = await runCase({ tout: 0.01 }, files);
    expect(task.status, task.error ?? '').toBe('succeeded');
    const log = await calls();
    expect(log.map((c) => c.tool)).toEqual(['GenCase_linux64', 'DualSPHysics5.4_linux64', 'PartVTK_linux64']);
    const solver = log[1] as LogEntry;
    expect(solver.args.slice(0, 1)).toEqual(['-gpu:0']);
    expect(solver.args).toContain('-tout:0.01');
    expect(solver.gpus).toBe(task.gpuIds.join(','));
    expect(task.gpuIds).toHaveLength(1);
    expect(log.every((c) => c.cwd.endsWith('/inputs/case') && c.ld.split(':')[0] === binDir)).toBe(true);
    const outputs = task.outputs?.files.map((f) => f.path) ?? [];
    expect(outputs).toEqual(
      expect.arrayContaining([
        'CaseDambreak/CaseDambreak.bi4',
        'CaseDambreak/data/Part_0000.bi4',
        'CaseDambreak/particles/PartFluid_0000.vtk',
      ]),
    );
  });

  it('uses the CPU solver for device cpu and skips PartVTK when vtk is off', async () => {
    const task = await runCase({ device: 'cpu', vtk: false }, files);
    expect(task.status, task.error ?? '').toBe('succeeded');
    const log = await calls();
    expect(log.map((c) => [c.tool, c.args[0]])).toEqual([
      ['GenCase_linux64', expect.stringContaining('CaseDambreak_Def')],
      ['DualSPHysics5.4CPU_linux64', '-cpu'],
    ]);
  });

  it('stops at the first failing step and fails the task with its exit code', async () => {
    await writeFile(failFile, 'DualSPHysics5.4_linux64');
    const task = await runCase({}, files);
    expect(task.status).toBe('failed');
    expect(task.exitCode).toBe(7);
    expect(task.error).toContain('DualSPHysics failed with exit code 7');
    expect((await calls()).map((c) => c.tool)).toEqual(['GenCase_linux64', 'DualSPHysics5.4_linux64']);
  });

  it('fails clearly when the case is ambiguous or the binaries are not installed', async () => {
    const two = await runCase({}, { 'a/A_Def.xml': '<a/>', 'b/B_Def.xml': '<b/>' });
    expect(two.status).toBe('failed');
    expect(two.error).toContain(
      'several case definitions (a/A_Def.xml, b/B_Def.xml); name one with params.case',
    );
    const picked = await runCase({ case: 'B' }, { 'a/A_Def.xml': '<a/>', 'b/B_Def.xml': '<b/>' });
    expect(picked.status, picked.error ?? '').toBe('succeeded');
    // The binaries taken away from DUALSPHYSICS_BIN_DIR, then put back.
    await rename(binDir, `${binDir}.away`);
    await mkdir(binDir);
    try {
      const missing = await runCase({}, files);
      expect(missing.status).toBe('failed');
      expect(missing.exitCode).toBe(127);
      expect(missing.error).toContain('cannot start GenCase');
    } finally {
      await rm(binDir, { recursive: true });
      await rename(`${binDir}.away`, binDir);
    }
  });
});
