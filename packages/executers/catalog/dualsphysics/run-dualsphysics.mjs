// The dualsphysics executer's launcher: maps a DualSPHysics case folder (the task's inputs, holding
// <case>_Def.xml) to the three command lines the DualSPHysics package's own run scripts use, and runs
// them in order, each as an argv array (no shell):
//   GenCase_linux64 <caseDir>/<case>_Def <out>/<case>/<case> -save:all
//   DualSPHysics5.x_linux64 -gpu:0 <out>/<case>/<case> <out>/<case> -dirdataout data -svres [-tmax:T] [-tout:T] [extra]
//   PartVTK_linux64 -dirin <out>/<case>/data -savevtk <out>/<case>/particles/PartFluid -onlytype:-all,+fluid
// The solver sees only the task's GPUs (CUDA_VISIBLE_DEVICES), so its device 0 is the task's first GPU.
// Binaries are looked up in DUALSPHYSICS_BIN_DIR (default /opt/dualsphysics/bin).
//
//   node run-dualsphysics.mjs --inputs DIR --outputs DIR [--case=NAME] [--device=gpu|cpu]
//                             [--tmax=S] [--tout=S] [--vtk=true|false] [--dry-run] -- [solver args]
//
// --dry-run prints the plan as JSON and runs nothing. Exit codes: 2 bad arguments or case, 127 a
// binary is missing, otherwise the first failing step's exit code.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, delimiter, dirname, join, relative, resolve } from 'node:path';

const DEFAULT_BIN_DIR = '/opt/dualsphysics/bin';
const DEF_SUFFIX = '_Def.xml';

function fail(code, message) {
  process.stderr.write(`run-dualsphysics: ${message}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { device: 'gpu', vtk: 'true', extra: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') {
      opts.extra = argv.slice(i + 1);
      break;
    }
    const match = /^--(inputs|outputs|case|device|tmax|tout|vtk|dry-run)(?:=(.*))?$/s.exec(argv[i]);
    if (!match) fail(2, `unexpected argument ${JSON.stringify(argv[i])}`);
    const [, name, inline] = match;
    if (name === 'dry-run') opts.dryRun = true;
    else opts[name] = inline ?? argv[++i];
  }
  if (!opts.inputs || !opts.outputs) fail(2, '--inputs and --outputs are required');
  if (!['gpu', 'cpu'].includes(opts.device)) fail(2, '--device must be gpu or cpu');
  if (!['true', 'false'].includes(opts.vtk)) fail(2, '--vtk must be true or false');
  for (const name of ['tmax', 'tout']) {
    if (opts[name] !== undefined && !(Number(opts[name]) > 0)) fail(2, `--${name} must be a positive number`);
  }
  const badExtra = opts.extra.find((a) => !/^-[A-Za-z]/.test(a));
  if (badExtra !== undefined)
    fail(2, `solver arguments must be options starting with "-" (got "${badExtra}")`);
  return opts;
}

/** Every <case>_Def.xml under dir, up to three folders deep, as paths relative to dir. */
function findDefinitions(dir, base = '', depth = 0) {
  const found = [];
  for (const entry of readdirSync(join(dir, base), { withFileTypes: true })) {
    const rel = base === '' ? entry.name : `${base}/${entry.name}`;
    if (entry.isFile() && entry.name.endsWith(DEF_SUFFIX)) found.push(rel);
    else if (entry.isDirectory() && depth < 3) found.push(...findDefinitions(dir, rel, depth + 1));
  }
  return found.sort();
}

/** { name, dir } of the case: the one named by --case, or the only definition in the inputs. */
function findCase(inputs, wanted) {
  const all = findDefinitions(inputs);
  const matching = wanted === undefined ? all : all.filter((f) => basename(f) === `${wanted}${DEF_SUFFIX}`);
  if (matching.length === 1) {
    const file = matching[0];
    return { name: basename(file).slice(0, -DEF_SUFFIX.length), dir: resolve(inputs, dirname(file)) };
  }
  const listed = all.length === 0 ? 'none' : all.join(', ');
  if (matching.length === 0) {
    const what = wanted === undefined ? `a *${DEF_SUFFIX} file` : `${wanted}${DEF_SUFFIX}`;
    fail(2, `the inputs hold no ${what} (case definitions found: ${listed})`);
  }
  fail(2, `the inputs hold several case definitions (${listed}); name one with params.case`);
}

/** The solver binary for a device: DUALSPHYSICS_SOLVER, else the newest DualSPHysics<v>[CPU]_linux64. */
function findSolver(binDir, device, env) {
  if (device === 'gpu' && env.DUALSPHYSICS_SOLVER) return env.DUALSPHYSICS_SOLVER;
  if (device === 'cpu' && env.DUALSPHYSICS_SOLVER_CPU) return env.DUALSPHYSICS_SOLVER_CPU;
  const pattern = device === 'gpu' ? /^DualSPHysics([\d.]+)_linux64$/ : /^DualSPHysics([\d.]+)CPU_linux64$/;
  const names = existsSync(binDir) ? readdirSync(binDir).filter((n) => pattern.test(n)) : [];
  const version = (n) => (pattern.exec(n)?.[1] ?? '0').split('.').map(Number);
  names.sort((a, b) => {
    const [va, vb] = [version(a), version(b)];
    for (let i = 0; i < Math.max(va.length, vb.length); i++) {
      if ((va[i] ?? 0) !== (vb[i] ?? 0)) return (vb[i] ?? 0) - (va[i] ?? 0);
    }
    return 0;
  });
  return join(binDir, names[0] ?? (device === 'gpu' ? 'DualSPHysics5_linux64' : 'DualSPHysics5CPU_linux64'));
}

function plan(opts, env = process.env) {
  const binDir = env.DUALSPHYSICS_BIN_DIR || DEFAULT_BIN_DIR;
  const inputs = resolve(opts.inputs);
  const outputs = resolve(opts.outputs);
  const kase = findCase(inputs, opts.case);
  const caseOut = join(outputs, kase.name);
  const solverArgs = [opts.device === 'gpu' ? '-gpu:0' : '-cpu', join(caseOut, kase.name), caseOut];
  solverArgs.push('-dirdataout', 'data', '-svres');
  if (opts.tmax !== undefined) solverArgs.push(`-tmax:${opts.tmax}`);
  if (opts.tout !== undefined) solverArgs.push(`-tout:${opts.tout}`);
  solverArgs.push(...opts.extra);
  const genCase = [
    join(binDir, 'GenCase_linux64'),
    join(kase.dir, `${kase.name}_Def`),
    join(caseOut, kase.name),
  ];
  const steps = [
    { name: 'GenCase', argv: [...genCase, '-save:all'], cwd: kase.dir },
    { name: 'DualSPHysics', argv: [findSolver(binDir, opts.device, env), ...solverArgs], cwd: kase.dir },
  ];
  if (opts.vtk === 'true') {
    const partvtk = [join(binDir, 'PartVTK_linux64'), '-dirin', join(caseOut, 'data')];
    partvtk.push('-savevtk', join(caseOut, 'particles', 'PartFluid'), '-onlytype:-all,+fluid');
    steps.push({ name: 'PartVTK', argv: partvtk, cwd: kase.dir });
  }
  return { binDir, case: kase.name, caseDir: relative(inputs, kase.dir) || '.', outputDir: caseOut, steps };
}

function runStep(step, env) {
  return new Promise((resolveExit) => {
    const [program, ...args] = step.argv;
    const child = spawn(program, args, { cwd: step.cwd, env, stdio: 'inherit' });
    const forward = (signal) => child.kill(signal);
    process.on('SIGTERM', forward).on('SIGINT', forward);
    child.on('error', (error) => {
      const code = error.code === 'ENOENT' ? 127 : 126;
      fail(code, `cannot start ${step.name} (${program}): ${error.message}; is DUALSPHYSICS_BIN_DIR right?`);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGTERM', forward).off('SIGINT', forward);
      resolveExit(code ?? (signal === 'SIGKILL' ? 137 : 143));
    });
  });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const run = plan(opts);
  if (opts.dryRun) {
    process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
    return 0;
  }
  mkdirSync(run.outputDir, { recursive: true });
  const env = { ...process.env };
  env.LD_LIBRARY_PATH = [run.binDir, env.LD_LIBRARY_PATH].filter(Boolean).join(delimiter);
  for (const step of run.steps) {
    process.stdout.write(`run-dualsphysics: ${step.name}: ${step.argv.join(' ')}\n`);
    const code = await runStep(step, env);
    if (code !== 0) {
      process.stderr.write(`run-dualsphysics: ${step.name} failed with exit code ${code}\n`);
      return code;
    }
  }
  return 0;
}

process.exitCode = await main();
