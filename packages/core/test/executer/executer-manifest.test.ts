// parseManifest: defaults, and every problem of a malformed manifest reported at once by field.
import { describe, expect, it } from 'vitest';
import { ManifestError } from '../../src/errors.js';
import { DEFAULT_TIME_LIMIT_MS, parseManifest } from '../../src/executers/executer-manifest.js';

const FILE = '/catalog/sph/executer.json';

function issuesOf(json: unknown): string[] {
  try {
    parseManifest(json, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    expect((err as ManifestError).file).toBe(FILE);
    return (err as ManifestError).issues.map((i) => `${i.field}: ${i.reason}`);
  }
  throw new Error('parseManifest accepted the manifest');
}

describe('parseManifest', () => {
  it('fills in the defaults without touching its input', () => {
    const json = { name: 'echo', version: '1', command: ['echo', 'hi'] };
    const manifest = parseManifest(json, FILE);
    expect(manifest).toEqual({
      name: 'echo',
      version: '1',
      command: ['echo', 'hi'],
      params: { type: 'object', additionalProperties: false, properties: {} },
      resources: { gpus: 0, timeLimitMs: DEFAULT_TIME_LIMIT_MS },
      env: {},
      requiresOptIn: false,
    });
    expect(json).toEqual({ name: 'echo', version: '1', command: ['echo', 'hi'] });
  });

  it('fills in a missing resource limit next to a given one', () => {
    const manifest = parseManifest({ name: 'a', version: '1', command: ['a'], resources: { gpus: 2 } }, FILE);
    expect(manifest.resources).toEqual({ gpus: 2, timeLimitMs: DEFAULT_TIME_LIMIT_MS });
  });

  it('reports every problem at once, each naming its field', () => {
    const issues = issuesOf({
      name: 'Bad Name',
      command: ['./run', 7, '{nope}', '{param.missing}'],
      resources: { gpus: -1, timeLimitMs: 10 },
      env: { 'BAD-NAME': 'x', OK: 3 },
      requiresOptIn: 'yes',
      extra: true,
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        'version: is required',
        'name: must match pattern "^[a-z0-9][a-z0-9._-]{0,63}$"',
        'command[1]: must be string',
        expect.stringMatching(/^command\[2\]: unknown placeholder \{nope\}/),
        expect.stringMatching(/^command\[3\]: \{param\.missing\} is not a property of params/),
        'resources.gpus: must be >= 0',
        'resources.timeLimitMs: must be >= 1000',
        'env: name "BAD-NAME" must match pattern "^[A-Za-z_][A-Za-z0-9_]*$"',
        'env.OK: must be string',
        'requiresOptIn: must be boolean',
        '(root): unknown field "extra"',
      ]),
    );
    expect(issues).toHaveLength(11);
  });

  it('rejects a command that is not a non-empty array of strings', () => {
    expect(issuesOf({ name: 'a', version: '1', command: 'run --fast' })).toEqual(['command: must be array']);
    expect(issuesOf({ name: 'a', version: '1', command: [] })).toEqual([
      'command: must NOT have fewer than 1 items',
    ]);
    expect(issuesOf({ name: 'a', version: '1', command: [''] })).toEqual([
      'command[0]: the program must not be empty',
    ]);
  });

  it('rejects a params schema that is not an object schema or not valid JSON Schema', () => {
    const base = { name: 'a', version: '1', command: ['a'] };
    expect(issuesOf({ ...base, params: { type: 'array' } })).toEqual(['params.type: must be "object"']);
    const nonsense = issuesOf({
      ...base,
      params: { type: 'object', properties: { a: { type: 'nonsense' } } },
    });
    expect(nonsense).toHaveLength(1);
    expect(nonsense[0]).toMatch(
      /^params\.properties\.a\.type: must be one of "array", "boolean", .* or must be array$/,
    );
    expect(issuesOf({ ...base, params: { type: 'object', properties: { a: { minimun: 1 } } } })).toEqual([
      expect.stringMatching(/^params: is not a usable JSON Schema: .*unknown keyword: "minimun"/),
    ]);
  });

  it('accepts known placeholders, declared parameters and escaped braces', () => {
    const manifest = parseManifest(
      {
        name: 'sph',
        version: '1.2.0',
        command: [
          './bin/sph',
          '--steps={param.steps}',
          '{inputDir}',
          '{outputDir}',
          '{taskDir}',
          '{executerDir}',
        ],
        params: { type: 'object', properties: { steps: { type: 'integer' } } },
      },
      FILE,
    );
    expect(manifest.command).toHaveLength(6);
    expect(() =>
      parseManifest(
        {
          name: 'a',
          version: '1',
          command: ['a', '{gpuIds}', '{taskId}', '{attempt}', '{{nope}}', '{"k": 1}'],
        },
        FILE,
      ),
    ).not.toThrow();
  });

  it('names the file in the error message', () => {
    expect(() => parseManifest({ name: 'a' }, FILE)).toThrow(
      /invalid executer manifest \/catalog\/sph\/executer\.json: .*version: is required/,
    );
  });
});
