/**
 * A task's env setup line (a profile's `env`, `submit --env-setup`): one shell line run before the
 * executer, such as `conda activate deep` or `module load cuda/12; source ~/venv/bin/activate`.
 * Checked as the API checks the task spec's `envSetup`: not empty, at most 1024 characters, and no
 * newline, carriage return or NUL (it is one line).
 */
export const ENV_LINE_MAX = 1024;

/** Why `value` is not an env setup line, or null when it is one. */
export function envLineProblem(value: unknown): string | null {
  if (typeof value !== 'string' || value.trim() === '') return 'must be a non-empty shell line';
  if (value.length > ENV_LINE_MAX) return `must be at most ${ENV_LINE_MAX} characters (got ${value.length})`;
  if (/[\n\r\0]/.test(value))
    return 'must be one line: no newline, carriage return or NUL (join commands with ; or &&)';
  return null;
}
