/**
 * The task spec: what a user submits. One TypeBox schema gives the runtime check, the static
 * type and (later) the API's request schema and OpenAPI document.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { ValidationError, type FieldIssue } from './errors.js';
import { inputNameIssues } from './input-names.js';
import { GPU_MODEL_PATTERN, MAX_GPU_MODELS } from './gpu-request.js';
import { MAX_TASK_GPUS } from './keys.js';
import { ISSUE_REASONS, TaskNameSchema, TaskTagsSchema } from './task-labels.js';
import { TaskPrioritySchema } from './task-priority.js';
import { TASK_ID_PATTERN } from './ids.js';

/**
 * How many starts of a task may be lost without a verdict (its tracker died, or its lease lapsed)
 * before the task ends `dead`, when its spec does not say (`maxAttempts`). A hand-back at a
 * tracker's shutdown and a retried failure do not count. The one default: `enqueue()` writes it
 * into every task record, `parseTaskRecord()` reads it for a record without the field, and
 * `lua/lib-claim.lua` (claimEntry) holds the same number (test/max-attempts-default.test.ts).
 */
export const DEFAULT_MAX_ATTEMPTS = 3;

/** A queue name, and a SLURM partition or account name. */
const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';

const Name = Type.String({
  pattern: NAME_PATTERN,
  description: 'letters, digits, . _ -',
});

export const RetryBackoffSchema = Type.Object(
  {
    strategy: Type.Union([Type.Literal('fixed'), Type.Literal('exponential')]),
    delayMs: Type.Integer({ minimum: 0, maximum: 86_400_000 }),
  },
  { additionalProperties: false },
);

/** A GPU model request (gpu-request.ts), in a task spec and in an executer manifest's resources. */
export const GpuModelsSchema = Type.Array(
  Type.String({
    pattern: GPU_MODEL_PATTERN,
    description: 'letters, digits, space . _ - and * (any characters)',
  }),
  {
    minItems: 1,
    maxItems: MAX_GPU_MODELS,
    description:
      'GPU models the task may run on, any of them: each matched word by word against the name nvidia-smi reports, ignoring case (`H100` matches `NVIDIA H100 80GB HBM3`; `*` any characters)',
  },
);
export const MinGpuMemorySchema = Type.Integer({
  minimum: 1,
  maximum: 16_777_216,
  description:
    'the least total memory of each of its GPUs, MiB, as the driver reports it (an "80GB" H100 reports 81559)',
});

export const GpuShareSchema = Type.Integer({
  minimum: 1,
  maximum: 16_777_216,
  description:
    'share one GPU by memory: the task uses at most this much of it (MiB), and runs beside other shares on a GPU while their shares fit its memory (gpus must be 1); no isolation without MPS',
});

export const TaskInputSchema = Type.Object(
  {
    /** Relative path of the input inside the task's `inputs/` folder (and in the artifact store). */
    name: Type.String({ minLength: 1, maxLength: 1024 }),
    /** Extract this archive (.tar, .tar.gz, .tgz) into `inputs/`; default: true for archives. */
    extract: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** SLURM resources a SLURM-backend tracker asks for this task's job (beside its GPUs and time limit). */
export const SlurmResourcesSchema = Type.Object(
  {
    partition: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'sbatch --partition' })),
    account: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'sbatch --account' })),
    mem: Type.Optional(
      Type.String({
        pattern: '^[1-9][0-9]{0,9}[KMGT]?$',
        description: 'sbatch --mem: memory per node, a whole number with an optional K, M (default), G or T',
      }),
    ),
    cpusPerTask: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 4096, description: 'sbatch --cpus-per-task' }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'what a SLURM-backend tracker asks of SLURM for this task’s job, over its own defaults (GPUFLEET_SLURM_*); other trackers ignore it',
  },
);

export const TaskSpecSchema = Type.Object(
  {
    executer: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$', description: 'executer name' }),
    params: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { description: 'checked by the executer schema' }),
    ),
    gpus: Type.Optional(
      Type.Integer({ minimum: 0, maximum: MAX_TASK_GPUS, description: 'default: the executer’s' }),
    ),
    gpuModels: Type.Optional(GpuModelsSchema),
    minGpuMemoryMiB: Type.Optional(MinGpuMemorySchema),
    gpuShareMiB: Type.Optional(GpuShareSchema),
    waitForCapacity: Type.Optional(
      Type.Boolean({
        description:
          'accept the task even when no live tracker of its queue can run it (its GPU count, model, memory or executer), and let it wait for one to join; default false: such a task is refused with 422',
      }),
    ),
    timeLimitMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 30 * 86_400_000 })),
    maxAttempts: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        description: `starts that may be lost (tracker died, lease lapsed) before dead; default ${DEFAULT_MAX_ATTEMPTS}`,
      }),
    ),
    retries: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 100, description: 'reruns after a failed exit' }),
    ),
    retryBackoff: Type.Optional(RetryBackoffSchema),
    queue: Type.Optional(Name),
    idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    inputs: Type.Optional(Type.Array(TaskInputSchema, { maxItems: 1000 })),
    name: Type.Optional(TaskNameSchema),
    tags: Type.Optional(TaskTagsSchema),
    priority: Type.Optional(TaskPrioritySchema),
    preemptible: Type.Optional(
      Type.Boolean({
        description:
          'may be stopped (SIGTERM, then SIGKILL after the tracker’s preemption grace) and requeued for a task of higher priority; the preemption does not count as an attempt',
      }),
    ),
    after: Type.Optional(
      Type.String({
        pattern: TASK_ID_PATTERN,
        description:
          'the id of a task of the same queue and tenant: this one waits until that one has ended, however it ended (SLURM’s afterany); `--runs N --chain` in the CLI',
      }),
    ),
    envSetup: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        pattern: '^[^\\n\\r\\u0000]+$',
        description:
          'one shell line (a profile’s `env`, `conda activate deep`) run by bash before the executer, in the shell that then execs it: its exports reach the executer; the parameters never pass through that shell. Only trackers started with GPUFLEET_ALLOW_ENV_SETUP=1 run it',
      }),
    ),
    slurm: Type.Optional(SlurmResourcesSchema),
  },
  { additionalProperties: false },
);

export type TaskSpec = Static<typeof TaskSpecSchema>;
export type SlurmResources = Static<typeof SlurmResourcesSchema>;
export type TaskInput = Static<typeof TaskInputSchema>;
export type RetryBackoff = Static<typeof RetryBackoffSchema>;

/** `/params/steps` → `params.steps`, `/inputs/0/name` → `inputs[0].name`. */
export function pointerToField(pointer: string, root = ''): string {
  let field = root;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    field += /^\d+$/.test(part) ? `[${part}]` : field === '' ? part : `.${part}`;
  }
  return field === '' ? '(root)' : field;
}

/**
 * Validates `value` against a TypeBox schema, returning every issue with its field. A schema may
 * word the reason for a kind of error itself (`[ISSUE_REASONS]: { StringPattern: '…' }`).
 */
export function schemaIssues(schema: TSchema, value: unknown, root = ''): FieldIssue[] {
  const checker = compiled(schema);
  if (checker.Check(value)) return [];
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  for (const error of checker.Errors(value)) {
    const field = pointerToField(error.path, root);
    const own = (error.schema as Record<string, Record<string, string> | undefined>)[ISSUE_REASONS];
    const reason = own?.[ValueErrorType[error.type]] ?? error.message.toLowerCase();
    const key = `${field}\0${reason}`;
    if (!seen.has(key)) issues.push({ field, reason });
    seen.add(key);
  }
  return issues;
}

const compiledCache = new WeakMap<TSchema, ReturnType<typeof TypeCompiler.Compile>>();
function compiled(schema: TSchema): ReturnType<typeof TypeCompiler.Compile> {
  let checker = compiledCache.get(schema);
  if (!checker) {
    checker = TypeCompiler.Compile(schema);
    compiledCache.set(schema, checker);
  }
  return checker;
}

/**
 * Checks a submitted spec's shape and types, and its input names (input-names.ts); throws
 * ValidationError naming every bad field. When input names are all that is wrong its code is
 * `PATH_ESCAPE` (the API answers INVALID_PATH), else `VALIDATION_FAILED`.
 */
export function parseTaskSpec(value: unknown): TaskSpec {
  const issues = schemaIssues(TaskSpecSchema, value);
  const paths = inputNameIssues(value);
  if (issues.length > 0) throw new ValidationError('invalid task', [...issues, ...paths]);
  if (paths.length > 0) throw new ValidationError('invalid task', paths, 'PATH_ESCAPE');
  return value as TaskSpec;
}
