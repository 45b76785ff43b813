/**
 * A task's labels: an optional `name` and `tags` (string → string), given at submission so that a
 * sweep's runs, or one person's work, can be told apart and listed together. Their schemas belong
 * to the task spec (task-spec.ts), so the API's request schema and `enqueue()` check them alike;
 * each schema words its own reasons (ISSUE_REASONS), so an error names the field and the rule.
 */
import { Type } from '@sinclair/typebox';

/** A schema keyword: reasons by TypeBox error kind (`StringPattern`...), used by schemaIssues(). */
export const ISSUE_REASONS = 'x-issue-reasons';

export const TASK_NAME_MAX_LENGTH = 200;
export const TASK_TAGS_MAX = 32;
export const TASK_TAG_VALUE_MAX_LENGTH = 256;
/** A tag key: 1–63 letters, digits, `.`, `_` or `-`, starting with a letter or digit. */
export const TASK_TAG_KEY_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$';

const TAG_KEY = new RegExp(TASK_TAG_KEY_PATTERN);
const TAG_KEY_RULE = '1-63 letters, digits, ".", "_" or "-", starting with a letter or digit';
// C0 and C1 control characters and DEL: a newline or an escape sequence would garble `gpufleet ls`.
const NO_CONTROL = '[^\\u0000-\\u001f\\u007f-\\u009f]';
const NO_CONTROL_REASON = 'must not contain control characters (newline, tab, escape...)';

export const TaskNameSchema = Type.String({
  minLength: 1,
  maxLength: TASK_NAME_MAX_LENGTH,
  pattern: `^${NO_CONTROL}+$`,
  description: `a name for people: 1-${TASK_NAME_MAX_LENGTH} characters, no control characters`,
  [ISSUE_REASONS]: { StringPattern: NO_CONTROL_REASON },
});

export const TaskTagsSchema = Type.Record(
  Type.String({ pattern: TASK_TAG_KEY_PATTERN }),
  Type.String({
    maxLength: TASK_TAG_VALUE_MAX_LENGTH,
    pattern: `^${NO_CONTROL}*$`,
    [ISSUE_REASONS]: { StringPattern: NO_CONTROL_REASON },
  }),
  {
    maxProperties: TASK_TAGS_MAX,
    additionalProperties: false,
    description:
      `at most ${TASK_TAGS_MAX} tags; keys: ${TAG_KEY_RULE}; ` +
      `values: strings of at most ${TASK_TAG_VALUE_MAX_LENGTH} characters, no control characters`,
    [ISSUE_REASONS]: {
      ObjectAdditionalProperties: `not a tag key: keys are ${TAG_KEY_RULE}`,
      ObjectMaxProperties: `at most ${TASK_TAGS_MAX} tags`,
    },
  },
);

/** Why `key` cannot be a tag key, or null when it can. */
export function tagKeyProblem(key: string): string | null {
  return TAG_KEY.test(key) ? null : `not a tag key: keys are ${TAG_KEY_RULE}`;
}
