// The tracker's service settings (src/service/service-config.ts): GPUFLEET_PORT_RANGE, the host
// ports services are given (20000-20999 by default), and GPUFLEET_ADVERTISE_HOST, the host their
// endpoints name (the host name by default); a bad value of either is refused at start, naming
// the variable and why, beside any other bad variable.
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@gpufleet/core';
import { loadTrackerConfig } from '@gpufleet/tracker';

const BASE = { GPUFLEET_EXECUTERS: '.' };

function issuesOf(env: Record<string, string>): Array<{ field: string; reason: string }> {
  try {
    loadTrackerConfig({ ...BASE, ...env }, '/srv');
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  return [];
}

describe('loadTrackerConfig and services', () => {
  it('defaults to ports 20000-20999 and the host name', () => {
    const config = loadTrackerConfig(BASE, '/srv');
    expect(config.portRange).toEqual({ low: 20_000, high: 20_999 });
    expect(config.advertiseHost).toBe(hostname());
  });

  it('reads GPUFLEET_PORT_RANGE, one port included', () => {
    const read = (value: string) =>
      loadTrackerConfig({ ...BASE, GPUFLEET_PORT_RANGE: value }, '/srv').portRange;
    expect(read('30000-30099')).toEqual({ low: 30_000, high: 30_099 });
    expect(read(' 1024 - 65535 ')).toEqual({ low: 1024, high: 65_535 });
    expect(read('40000-40000')).toEqual({ low: 40_000, high: 40_000 });
  });

  it('refuses a malformed port range at start, naming the variable and why', () => {
    const cases: Array<[string, RegExp]> = [
      ['20000', /must be two port numbers LOW-HIGH/],
      ['20000-', /must be two port numbers LOW-HIGH/],
      ['a-b', /must be two port numbers LOW-HIGH/],
      ['20000:20999', /must be two port numbers LOW-HIGH/],
      ['-5-10', /must be two port numbers LOW-HIGH/],
      ['20000.5-20999', /must be two port numbers LOW-HIGH/],
      ['80-20999', /from 1024 to 65535 \(80 is not\)/],
      ['20000-70000', /from 1024 to 65535 \(70000 is not\)/],
      ['20999-20000', /low port first \(20999 is above 20000\)/],
    ];
    for (const [value, reason] of cases) {
      const issues = issuesOf({ GPUFLEET_PORT_RANGE: value });
      expect(issues).toEqual([{ field: 'GPUFLEET_PORT_RANGE', reason: expect.stringMatching(reason) }]);
      expect(issues[0]?.reason).toContain(JSON.stringify(value.trim()));
    }
  });

  it('reads GPUFLEET_ADVERTISE_HOST: a name, an IPv4 or an IPv6 address', () => {
    for (const host of ['gpu-node-7.lab.example', '10.0.0.7', 'fd00::7']) {
      expect(loadTrackerConfig({ ...BASE, GPUFLEET_ADVERTISE_HOST: host }, '/srv').advertiseHost).toBe(host);
    }
  });

  it('refuses an advertised host that is empty, holds spaces or a scheme', () => {
    expect(issuesOf({ GPUFLEET_ADVERTISE_HOST: '' })).toEqual([
      { field: 'GPUFLEET_ADVERTISE_HOST', reason: expect.stringMatching(/must not be empty/) },
    ]);
    expect(issuesOf({ GPUFLEET_ADVERTISE_HOST: '  ' })).toHaveLength(1);
    expect(issuesOf({ GPUFLEET_ADVERTISE_HOST: 'gpu node 7' })).toEqual([
      { field: 'GPUFLEET_ADVERTISE_HOST', reason: expect.stringMatching(/must not contain spaces/) },
    ]);
    expect(issuesOf({ GPUFLEET_ADVERTISE_HOST: 'http://gpu-node-7' })).toEqual([
      { field: 'GPUFLEET_ADVERTISE_HOST', reason: expect.stringMatching(/without a scheme/) },
    ]);
    expect(issuesOf({ GPUFLEET_ADVERTISE_HOST: 'gpu-node-7/api' })).toEqual([
      { field: 'GPUFLEET_ADVERTISE_HOST', reason: expect.stringMatching(/without a path/) },
    ]);
  });

  it('reports both beside the other bad variables at once', () => {
    const fields = issuesOf({
      GPUFLEET_PORT_RANGE: '9-8',
      GPUFLEET_ADVERTISE_HOST: 'tcp://x',
      GPUFLEET_LEASE_MS: 'soon',
    }).map((i) => i.field);
    expect(fields.sort()).toEqual(['GPUFLEET_ADVERTISE_HOST', 'GPUFLEET_LEASE_MS', 'GPUFLEET_PORT_RANGE']);
  });
});
