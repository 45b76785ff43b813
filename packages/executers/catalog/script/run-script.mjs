// The script executer's launcher: runs a program the user shipped in the task's inputs, in its own
// folder (as `cd job && ./train.sh` would), on the GPUs the tracker gave the task (CUDA_VISIBLE_DEVICES is already set), with the
// user's arguments after replacing {gpuIds}, {inputDir} and {outputDir} in them. No shell: the
// program is executed directly (its #! line picks its interpreter) or through params.interpreter.
//
//   node run-script.mjs --inputs DIR --outputs DIR --gpus=0,1 --script=PATH [--interpreter=PROG]
//                       [--dry-run] -- [ARGS...]
//
// --dry-run prints the resolved argv as JSON and starts nothing. Exit codes: the program's own, or
// 2 bad arguments or a script path that is missing or leaves the inputs folder, 126 cannot execute.
import { spawn } from 'node:child_process';
import { chmodSync, constants, accessSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { constants as os } from 'node:os';

function fail(code, message) {
  process.stderr.write(`run-script: ${message}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { args: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      opts.args = argv.slice(i + 1);
      break;
    }
    const match = /^--(inputs|outputs|gpus|script|interpreter|dry-run)(?:=(.*))?$/s.exec(arg);
    if (!match) fail(2, `unexpected argument ${JSON.stringify(arg)}`);
    const [, name, inline] = match;
    if (name === 'dry-run') opts.dryRun = true;
    else opts[name] = inline ?? argv[++i];
  }
  for (const name of ['inputs', 'outputs', 'script']) {
    if (!opts[name]) fail(2, `--${name} is required`);
  }
  opts.gpus ??= '';
  return opts;
}

function isInside(root, file) {
  const rel = relative(root, file);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

function listInputs(dir, base = '', out = []) {
  for (const entry of readdirSync(join(dir, base), { withFileTypes: true })) {
    if (out.length >= 20) break;
    const rel = base === '' ? entry.name : `${base}/${entry.name}`;
    if (entry.isDirectory()) listInputs(dir, rel, out);
    else out.push(rel);
  }
  return out;
}

/** The script's real path, refusing anything outside the inputs folder (symlinks included). */
function resolveScript(inputs, script) {
  const root = realpathSync(inputs);
  const candidate = resolve(root, script);
  if (!isInside(root, candidate)) fail(2, `script ${JSON.stringify(script)} is outside the task's inputs`);
  let real;
  try {
    real = realpathSync(candidate);
  } catch {
    const found = listInputs(root);
    fail(
      2,
      `script ${JSON.stringify(script)} is not among the inputs (found: ${found.join(', ') || 'none'})`,
    );
  }
  if (!isInside(root, real)) fail(2, `script ${JSON.stringify(script)} links outside the task's inputs`);
  if (!statSync(real).isFile()) fail(2, `script ${JSON.stringify(script)} is not a regular file`);
  return { root, file: real };
}

function makeExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
  } catch {
    chmodSync(file, statSync(file).mode | 0o100); // uploads lose the mode; the owner may run it
  }
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const { root, file } = resolveScript(opts.inputs, opts.script);
  const outputs = resolve(opts.outputs);
  const args = opts.args.map((a) =>
    a.replaceAll('{gpuIds}', opts.gpus).replaceAll('{inputDir}', root).replaceAll('{outputDir}', outputs),
  );
  const argv = opts.interpreter ? [opts.interpreter, file, ...args] : [file, ...args];
  if (opts.dryRun) {
    process.stdout.write(`${JSON.stringify({ argv, cwd: dirname(file), gpus: opts.gpus }, null, 2)}\n`);
    return;
  }
  if (!opts.interpreter) makeExecutable(file);
  const [program, ...rest] = argv;
  const child = spawn(program, rest, { cwd: dirname(file), stdio: 'inherit' });
  const forward = (signal) => child.kill(signal);
  process.on('SIGTERM', forward).on('SIGINT', forward);
  child.on('error', (error) => {
    const hint =
      error.code === 'ENOEXEC' || error.code === 'EACCES'
        ? ' (give the script a #! line, or set params.interpreter)'
        : error.code === 'ENOENT' && opts.interpreter
          ? ` (${opts.interpreter} is not installed on this tracker)`
          : '';
    fail(126, `cannot execute ${program}: ${error.message}${hint}`);
  });
  child.on('exit', (code, signal) => {
    if (signal) process.stderr.write(`run-script: the script was killed by ${signal}\n`);
    process.exit(code ?? 128 + (os.signals[signal] ?? 15));
  });
}

main();
