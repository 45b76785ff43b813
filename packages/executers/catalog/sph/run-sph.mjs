// The sph executer's launcher: picks the GPU or CPU build (choose-backend.mjs), compiles it on first
// use into a cache (build-cache.mjs), runs it, then plots the final frame as final-frame.png and adds
// the build to summary.json. No shell anywhere: every program is started with an argv array.
//
//   node run-sph.mjs --out DIR [--particles=N] [--steps=N] [--output-every=N] [--format=csv|vtk]
//                    [--device=auto|cpu|gpu] [--dry-run]
//   node run-sph.mjs --build-only [--backend=cpu|cuda]     (prebuild into the cache, e.g. in an image)
//
// --dry-run prints the plan (build, binary, argv) as JSON and starts nothing. Exit codes: the
// simulation's own (0, 2, 3, 4, 5; see src/sph.cu), or 2 bad arguments, 3 the GPU build was asked
// for and no GPU is usable, 4 the build failed or the outputs could not be post-processed.
import { spawn } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ensureBinary, planBinary } from './lib/build-cache.mjs';
import { chooseBackend } from './lib/choose-backend.mjs';
import { parseFrame, plotFrame } from './lib/plot-frame.mjs';

const VALUE_OPTIONS = ['out', 'particles', 'steps', 'output-every', 'format', 'device', 'backend'];
const FLAG_OPTIONS = ['dry-run', 'build-only'];

function fail(code, message) {
  process.stderr.write(`run-sph: ${message}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { device: 'auto' };
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(argv[i]);
    if (!match) fail(2, `unexpected argument ${JSON.stringify(argv[i])}`);
    const [, name, inline] = match;
    if (FLAG_OPTIONS.includes(name) && inline === undefined) opts[name] = true;
    else if (VALUE_OPTIONS.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) fail(2, `--${name} needs a value`);
      opts[name] = value;
    } else fail(2, `unknown option --${name}`);
  }
  if (!['auto', 'cpu', 'gpu'].includes(opts.device)) fail(2, '--device must be auto, cpu or gpu');
  if (opts.backend !== undefined && !['cpu', 'cuda'].includes(opts.backend))
    fail(2, '--backend must be cpu or cuda');
  if (!opts['build-only'] && !opts.out) fail(2, '--out is required');
  return opts;
}

function simulationArgs(opts) {
  const args = ['--out', opts.out];
  for (const name of ['particles', 'steps', 'output-every', 'format']) {
    if (opts[name] !== undefined) args.push(`--${name}`, opts[name]);
  }
  return args;
}

function runBinary(file, args) {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: 'inherit' });
    const forward = (signal) => child.kill(signal);
    process.on('SIGTERM', forward).on('SIGINT', forward);
    child.on('error', (error) => fail(4, `cannot start ${file}: ${error.message}`));
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
  });
}

/** Plots the last frame and records the build in summary.json. */
function postProcess(out, choice, binary) {
  const summaryFile = join(out, 'summary.json');
  const summary = JSON.parse(readFileSync(summaryFile, 'utf8'));
  const last = summary.frames.at(-1);
  const frame = parseFrame(readFileSync(join(out, last.file), 'utf8'), summary.parameters.format);
  const { dx } = summary.numerics;
  const { tankWidth, wallTop } = summary.geometry;
  const bounds = { x0: -4 * dx, x1: tankWidth + 4 * dx, y0: -4 * dx, y1: wallTop + dx };
  const plot = plotFrame(frame, { spacing: dx, bounds });
  writeFileSync(join(out, 'final-frame.png'), plot.png);
  summary.plot = {
    file: 'final-frame.png',
    frame: last.file,
    width: plot.width,
    height: plot.height,
    bounds,
  };
  summary.build = {
    backend: choice.backend,
    reason: choice.reason,
    binary: basename(binary.path),
    cached: binary.cached,
    compileMs: binary.compileMs,
    compiler: binary.compiler?.split('\n')[0] ?? null,
  };
  writeFileSync(`${summaryFile}.tmp`, `${JSON.stringify(summary, null, 2)}\n`);
  renameSync(`${summaryFile}.tmp`, summaryFile);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts['build-only']) {
    const backend = opts.backend ?? 'cpu';
    const binary = ensureBinary(backend);
    process.stdout.write(`${JSON.stringify({ backend, ...binary })}\n`);
    return 0;
  }
  let choice;
  try {
    choice = chooseBackend(opts.device);
  } catch (error) {
    fail(3, error.message);
  }
  const args = simulationArgs(opts);
  if (opts['dry-run']) {
    const plan = planBinary(choice.backend);
    const compile = [plan.command.program, ...plan.command.args, 'sph.cu', '-o', plan.path];
    process.stdout.write(`${JSON.stringify({ ...choice, compile, binary: plan.path, args }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`run-sph: ${choice.backend} build (${choice.reason})\n`);
  let binary;
  try {
    binary = ensureBinary(choice.backend);
  } catch (error) {
    fail(4, error.message);
  }
  process.stdout.write(
    `run-sph: ${binary.cached ? 'cached' : `compiled in ${binary.compileMs} ms:`} ${binary.path}\n`,
  );
  const code = await runBinary(binary.path, args);
  if (code !== 0) return code;
  try {
    postProcess(opts.out, choice, binary);
  } catch (error) {
    fail(4, `post-processing failed: ${error.message}`);
  }
  return 0;
}

process.exitCode = await main();
