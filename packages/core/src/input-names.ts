/**
 * The one rule for a task input's name, used wherever a name arrives: a spec's `inputs` (checked
 * by parseTaskSpec, so by enqueue and by the API before it stores a byte), a multipart file name
 * (the API), and the tracker as it fetches inputs (a second line of defence). A name is a path
 * inside the task's `inputs/` folder and the tail of its artifact key
 * (`<tenant>/<task>/inputs/<name>`), so it follows the artifact key rule: relative, `/`-separated,
 * no empty, `.` or `..` segment, no backslash, no NUL. A name that breaks it could reach another
 * task's (or tenant's) files, so it is refused, never repaired.
 */
import { artifactKeyProblem } from './artifacts/artifact-key.js';
import { PathEscapeError, type FieldIssue } from './errors.js';

/** Why `name` cannot name a task input, or null when it can. */
export function inputNameProblem(name: string): string | null {
  return artifactKeyProblem(name);
}

/** Returns `name` when it can name a task input; else throws PathEscapeError naming it and why. */
export function checkInputName(name: string): string {
  const problem = inputNameProblem(name);
  if (problem !== null) throw new PathEscapeError(name, problem);
  return name;
}

/**
 * One issue (`inputs[2].name`) per input of `spec` whose name breaks the rule. `spec` may be
 * unchecked: entries that are not `{ name: string }` are left to the schema check.
 */
export function inputNameIssues(spec: unknown): FieldIssue[] {
  const inputs = (spec as { inputs?: unknown } | null)?.inputs;
  if (!Array.isArray(inputs)) return [];
  const issues: FieldIssue[] = [];
  inputs.forEach((input: unknown, i) => {
    const name = (input as { name?: unknown } | null)?.name;
    // An empty name is the schema's to report (minLength), once.
    const problem = typeof name === 'string' && name !== '' ? inputNameProblem(name) : null;
    if (problem !== null) issues.push({ field: `inputs[${i}].name`, reason: problem });
  });
  return issues;
}
