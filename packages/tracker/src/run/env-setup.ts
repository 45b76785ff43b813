/**
 * A task's env setup line (the spec's `envSetup`, a profile's `env`: `source venv/bin/activate`,
 * `conda activate train`, `export HF_HOME=/scratch/hf`), run before its executer in the
 * executer's own shell, so that what it exports, sources or activates reaches the executer: the
 * argv becomes `/bin/bash -c SCRIPT gpufleet-env FILE ARGS...`. The line is the submitter's shell
 * code (a tracker runs it only with GPUFLEET_ALLOW_ENV_SETUP, see config.ts), quoted as one word
 * into the script and `eval`ed there; the executer's argv, which holds the task's parameters,
 * only ever travels as "$@" and is never read as code. While the line runs the positional
 * parameters are empty (a sourced script sees none of the executer's arguments); then the shell
 * `exec`s the executer (same pid, its environment), or, when the line failed, says so on stderr
 * and exits with the line's status without running it.
 */
import { shellWord } from '../slurm/job-script.js';

/** The `$0` of the wrapping shell: its own messages read `gpufleet-env: line 2: ...`. */
export const ENV_SETUP_NAME = 'gpufleet-env';

/** The script `bash -c` runs: the line in this shell, then the executer ("$@"). */
export function envSetupScript(line: string): string {
  return [
    'gpufleet_argv=("$@")',
    'set --',
    `eval ${shellWord(line)}`,
    'gpufleet_status=$?',
    'if [ "$gpufleet_status" -ne 0 ]; then',
    '  echo "gpufleet: the env setup line failed (exit $gpufleet_status)" >&2',
    '  exit "$gpufleet_status"',
    'fi',
    'set -- "${gpufleet_argv[@]}"',
    'unset gpufleet_argv gpufleet_status',
    'exec "$@"',
  ].join('\n');
}

/** The argv that runs `line` and then `file args...` in the same shell. */
export function withEnvSetup(
  line: string,
  argv: { file: string; args: readonly string[] },
): { file: string; args: string[] } {
  return { file: '/bin/bash', args: ['-c', envSetupScript(line), ENV_SETUP_NAME, argv.file, ...argv.args] };
}
