#!/usr/bin/env node
/**
 * gpufleet: the command-line client of a gpufleet (see the package README, or `gpufleet --help`).
 * The first Ctrl-C stops the command (tasks on the fleet go on); a second one exits at once.
 * Exit codes: 0 ok, 1 a task did not succeed, 2 usage error, 3 API unreachable, 4 not found,
 * 5 a service not ready.
 */
import { CommanderError } from 'commander';
import type { CliRuntime } from '../cli/cli-context.js';
import { EXIT, exitCodeFor } from '../cli/exit-codes.js';
import { Output } from '../cli/output.js';
import { createProgram } from '../cli/program.js';

const controller = new AbortController();
const runtime: CliRuntime = {
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
  exitCode: EXIT.OK,
};
let interrupts = 0;
process.on('SIGINT', () => {
  if (++interrupts > 1) process.exit(130);
  controller.abort();
});

async function main(): Promise<number> {
  const json = process.argv.includes('--json');
  try {
    await createProgram(runtime).parseAsync(process.argv);
    return controller.signal.aborted ? 130 : runtime.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      const quiet = ['commander.helpDisplayed', 'commander.version'].includes(error.code);
      return quiet ? EXIT.OK : EXIT.USAGE;
    }
    if (controller.signal.aborted) return 130;
    new Output(json).error(error);
    return exitCodeFor(error);
  }
}

process.exitCode = await main();
