// validateParams: defaults applied, no coercion, every error named by its parameter.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { parseManifest } from '../../src/executers/executer-manifest.js';
import { validateParams } from '../../src/executers/task-params.js';

const manifest = parseManifest(
  {
    name: 'sph',
    version: '1',
    command: ['sph', '{param.steps}'],
    params: {
      type: 'object',
      required: ['case'],
      properties: {
        steps: { type: 'integer', minimum: 1, default: 100 },
        case: { type: 'string', enum: ['dam', 'wave'] },
        files: { type: 'array', items: { type: 'string' } },
        email: { type: 'string', format: 'email' },
      },
      additionalProperties: false,
    },
  },
  '/x/executer.json',
);

function issuesOf(params: unknown): string[] {
  try {
    validateParams(manifest)(params);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toMatch(/^invalid task: /);
    return (err as ValidationError).issues.map((i) => `${i.field}: ${i.reason}`);
  }
  throw new Error('validateParams accepted the parameters');
}

describe('validateParams', () => {
  it('applies defaults without changing the caller object', () => {
    const input = { case: 'dam' };
    expect(validateParams(manifest)(input)).toEqual({ case: 'dam', steps: 100 });
    expect(input).toEqual({ case: 'dam' });
  });

  it('completes parameters the caller gives away in place, without a copy', () => {
    const owned = { case: 'dam' };
    expect(validateParams(manifest)(owned, { owned: true })).toBe(owned);
    expect(owned).toEqual({ case: 'dam', steps: 100 });
  });

  it('compiles once per manifest', () => {
    expect(validateParams(manifest)).toBe(validateParams(manifest));
  });

  it('does not coerce types', () => {
    expect(issuesOf({ case: 'dam', steps: '5' })).toEqual(['params.steps: must be integer']);
    expect(issuesOf({ case: 'dam', steps: 1.5 })).toEqual(['params.steps: must be integer']);
  });

  it('names every bad, missing and unknown parameter at once', () => {
    expect(issuesOf({ steps: 0, foo: 1, files: ['a', 2], email: 'nope', case: 'lake' })).toEqual([
      'params: unknown parameter "foo"',
      'params.steps: must be >= 1',
      'params.case: must be one of "dam", "wave"',
      'params.files[1]: must be string',
      'params.email: must match format "email"',
    ]);
    expect(issuesOf({})).toEqual(['params.case: is required']);
    expect(issuesOf(undefined)).toEqual(['params.case: is required']);
    expect(issuesOf(null)).toEqual(['params: must be object']);
  });

  it('accepts any object when the manifest declares no params', () => {
    const bare = parseManifest({ name: 'a', version: '1', command: ['a'] }, '/a/executer.json');
    expect(validateParams(bare)(undefined)).toEqual({});
    expect(() => validateParams(bare)({ x: 1 })).toThrow('params: unknown parameter "x"');
  });
});
