/**
 * The `gpufleet` command: global flags (profile, API URL, token, --json, --retry-for) and the
 * commands. Usage errors (unknown flags, bad values) throw CommanderError, exit code 2.
 */
import { Command } from 'commander';
import type { CliRuntime } from './cli-context.js';
import { adminCommands } from './commands/admin.js';
import { commandRunner } from './commands/command-kit.js';
import { drainCommands } from './commands/drain.js';
import { endpointsCommand } from './commands/endpoints.js';
import { fleetCommands } from './commands/fleet.js';
import { logsCommand } from './commands/logs.js';
import { priorityCommand } from './commands/priority.js';
import { resubmitCommand } from './commands/resubmit.js';
import { statusCommands } from './commands/status.js';
import { submitCommand } from './commands/submit.js';
import { taskActionCommands } from './commands/task-actions.js';
import { watchCommand } from './commands/watch.js';

export const CLI_VERSION = '0.1.0';

export function createProgram(runtime: CliRuntime): Command {
  const program = new Command('gpufleet')
    .description('Submit, follow and fetch GPU tasks on a gpufleet')
    .version(CLI_VERSION)
    .option('--profile <name>', 'the profile to use (GPUFLEET_PROFILE)')
    .option('--api-url <url>', 'the API’s URL (GPUFLEET_API_URL)')
    .option('--token <key>', 'the API key (better: GPUFLEET_TOKEN or a profile)')
    .option('--json', 'print JSON (one document, or one object per line for streams)')
    .option('--retry-for <duration>', 'keep retrying an unreachable or busy API this long', '30s')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void runtime.stdout.write(text),
      writeErr: (text) => void runtime.stderr.write(text),
    });
  const run = commandRunner(runtime);
  submitCommand(program, run);
  statusCommands(program, run);
  endpointsCommand(program, run);
  logsCommand(program, run);
  taskActionCommands(program, run);
  priorityCommand(program, run);
  resubmitCommand(program, run);
  fleetCommands(program, run);
  drainCommands(program, run);
  watchCommand(program, run);
  adminCommands(program, run);
  // Nested commands (`admin gc`) too: a usage error anywhere is exit 2, not a process exit.
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const command of all(program).slice(1)) command.exitOverride().showHelpAfterError();
  program.addHelpText(
    'after',
    '\nExit codes: 0 ok, 1 a task did not succeed, 2 usage error, 3 API unreachable, 4 not found,\n' +
      '5 a service not ready (endpoints, submit --wait-ready).\n' +
      'Configuration: --api-url/GPUFLEET_API_URL, --token/GPUFLEET_TOKEN, or profiles in ./gpufleet.json or\n' +
      '~/.config/gpufleet/config.json; a local fleet started with `npm start` is found by itself.',
  );
  return program;
}
