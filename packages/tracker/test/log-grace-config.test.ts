// GPUFLEET_LOG_GRACE_MS, how long a task's live log stream stays after the task ends: a minute by
// default, 0 (removed at once) up to a day, anything else refused at start naming the variable.
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_LOG_GRACE_MS } from '@gpufleet/core';
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

describe('loadTrackerConfig and the live log grace', () => {
  it('reads GPUFLEET_LOG_GRACE_MS over its default of a minute', () => {
    expect(DEFAULT_LOG_GRACE_MS).toBe(60_000);
    expect(loadTrackerConfig(BASE, '/srv').logGraceMs).toBe(60_000);
    expect(loadTrackerConfig({ ...BASE, GPUFLEET_LOG_GRACE_MS: '300' }, '/srv').logGraceMs).toBe(300);
    expect(loadTrackerConfig({ ...BASE, GPUFLEET_LOG_GRACE_MS: '0' }, '/srv').logGraceMs).toBe(0);
  });

  it('refuses a bad value at start, naming the variable', () => {
    for (const value of ['soon', '-1', '1.5', '86400001']) {
      expect(issuesOf({ GPUFLEET_LOG_GRACE_MS: value })).toEqual([
        { field: 'GPUFLEET_LOG_GRACE_MS', reason: expect.stringContaining(value) },
      ]);
    }
  });
});
