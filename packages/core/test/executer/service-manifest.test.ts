// The manifest's `service` block (src/executers/service-manifest.ts): named ports, one readiness
// check, durations with defaults, and every problem reported by field; `{port.NAME}` in the command
// is known only for a port the block declares.
import { describe, expect, it } from 'vitest';
import { ManifestError } from '../../src/errors.js';
import { parseManifest } from '../../src/executers/executer-manifest.js';
import { DEFAULT_START_TIMEOUT_MS, readyPort } from '../../src/executers/service-manifest.js';

const FILE = '/catalog/sim/executer.json';
const BASE = { name: 'sim', version: '1', command: ['./sim', '--port={port.http}'] };

function issuesOf(json: unknown): string[] {
  try {
    parseManifest(json, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    return (err as ManifestError).issues.map((i) => `${i.field}: ${i.reason}`);
  }
  throw new Error('parseManifest accepted the manifest');
}

function serviceIssues(service: unknown, command = BASE.command): string[] {
  return issuesOf({ ...BASE, command, service });
}

describe('the service block of a manifest', () => {
  it('fills in the start timeout and the HTTP path, and leaves the optional fields out', () => {
    const manifest = parseManifest(
      { ...BASE, service: { ports: ['http', 'control'], ready: { http: { port: 'http' } } } },
      FILE,
    );
    expect(manifest.service).toEqual({
      ports: ['http', 'control'],
      ready: { http: { port: 'http', path: '/' } },
      startTimeoutMs: DEFAULT_START_TIMEOUT_MS,
    });
    expect(DEFAULT_START_TIMEOUT_MS).toBe(60_000);
    expect(manifest.service && readyPort(manifest.service.ready)).toBe('http');
  });

  it('takes each kind of readiness check and every lifetime field', () => {
    const full = {
      ports: ['http', 'control'],
      ready: { tcp: 'control' },
      startTimeoutMs: 5000,
      idleTimeoutMs: 600_000,
      maxAgeMs: 86_400_000,
      restart: { count: 2, backoffMs: 500 },
    };
    expect(parseManifest({ ...BASE, service: full }, FILE).service).toEqual(full);
    const stdout = parseManifest(
      { ...BASE, service: { ports: ['http'], ready: { stdout: '^listening on \\d+$' } } },
      FILE,
    );
    expect(stdout.service?.ready).toEqual({ stdout: '^listening on \\d+$' });
    expect(stdout.service && readyPort(stdout.service.ready)).toBeUndefined();
    const restart = parseManifest(
      { ...BASE, service: { ports: ['http'], ready: { tcp: 'http' }, restart: {} } },
      FILE,
    );
    expect(restart.service?.restart).toEqual({ count: 3, backoffMs: 1000 });
  });

  it('leaves a batch executer without a service block', () => {
    expect(parseManifest({ name: 'a', version: '1', command: ['a'] }, FILE).service).toBeUndefined();
  });

  it('refuses readiness that names an undeclared port, naming the field', () => {
    expect(serviceIssues({ ports: ['http'], ready: { http: { port: 'admin', path: '/healthz' } } })).toEqual([
      'service.ready.http.port: names no port of service.ports ("admin"; it declares http)',
    ]);
    expect(serviceIssues({ ports: ['http'], ready: { tcp: 'admin' } })).toEqual([
      'service.ready.tcp: names no port of service.ports ("admin"; it declares http)',
    ]);
  });

  it('wants exactly one readiness check, and a stdout pattern that compiles', () => {
    expect(serviceIssues({ ports: ['http'], ready: {} })).toEqual([
      'service.ready: must name exactly one check: tcp, http or stdout (it names none)',
    ]);
    expect(serviceIssues({ ports: ['http'], ready: { tcp: 'http', stdout: 'up' } })).toEqual([
      'service.ready: must name exactly one check: tcp, http or stdout (it names tcp and stdout)',
    ]);
    expect(serviceIssues({ ports: ['http'], ready: { stdout: 'listening (on' } })).toEqual([
      expect.stringMatching(
        /^service\.ready\.stdout: is not a valid regular expression: .*Unterminated group/,
      ),
    ]);
    expect(serviceIssues({ ports: ['http'], ready: { http: { port: 'http', path: 'healthz' } } })).toEqual([
      'service.ready.http.path: must start with / and hold no spaces',
    ]);
    expect(serviceIssues({ ports: ['http'], ready: 'tcp' })).toEqual(['service.ready: must be object']);
  });

  it('checks the port names: 1 to 8 lowercase identifiers, each named once', () => {
    expect(serviceIssues({ ports: [], ready: { stdout: 'up' } }, ['./sim'])).toEqual([
      'service.ports: must NOT have fewer than 1 items',
    ]);
    const nine = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
    expect(serviceIssues({ ports: nine, ready: { tcp: 'a' } }, ['./sim'])).toEqual([
      'service.ports: must NOT have more than 8 items',
    ]);
    expect(serviceIssues({ ports: ['http', 'Admin', 'http', '9p'], ready: { tcp: 'http' } })).toEqual([
      'service.ports[1]: must match pattern "^[a-z][a-z0-9_]{0,31}$"',
      'service.ports[3]: must match pattern "^[a-z][a-z0-9_]{0,31}$"',
      'service.ports[2]: "http" is named twice',
    ]);
  });

  it('refuses negative, zero and fractional durations, bad restart policies and unknown keys', () => {
    const issues = serviceIssues({
      ports: ['http'],
      ready: { tcp: 'http', extra: 1 },
      startTimeoutMs: 0,
      idleTimeoutMs: -5,
      maxAgeMs: 1.5,
      restart: { count: -1, backoffMs: 'soon', forever: true },
      replicas: 2,
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        'service: unknown field "replicas"',
        'service.ready: unknown field "extra"',
        'service.startTimeoutMs: must be >= 1',
        'service.idleTimeoutMs: must be >= 1',
        'service.maxAgeMs: must be integer',
        'service.restart: unknown field "forever"',
        'service.restart.count: must be >= 0',
        'service.restart.backoffMs: must be integer',
      ]),
    );
    expect(issues).toHaveLength(8);
    expect(serviceIssues({ ports: ['http'], ready: { tcp: 'http' }, idleTimeoutMs: 2 ** 31 })).toEqual([
      'service.idleTimeoutMs: must be <= 2147483647',
    ]);
  });

  it('knows {port.NAME} in the command only for a declared port', () => {
    const command = ['./sim', '--http={port.http}', '--control={port.control}'];
    expect(serviceIssues({ ports: ['http'], ready: { tcp: 'http' } }, command)).toEqual([
      'command[2]: {port.control} is not a port of service.ports (it declares http)',
    ]);
    expect(issuesOf({ ...BASE, command })).toEqual([
      'command[1]: {port.http} is not a port of service.ports (the manifest declares no service)',
      'command[2]: {port.control} is not a port of service.ports (the manifest declares no service)',
    ]);
    const manifest = parseManifest(
      { ...BASE, command, service: { ports: ['http', 'control'], ready: { tcp: 'http' } } },
      FILE,
    );
    expect(manifest.command).toEqual(command);
  });

  it('lists {port.NAME} among the known placeholders when one is unknown', () => {
    expect(issuesOf({ ...BASE, command: ['./sim', '{ports.http}'] })).toEqual([
      expect.stringMatching(/^command\[1\]: unknown placeholder \{ports\.http\} \(known: .*\{port\.NAME\}/),
    ]);
  });
});
