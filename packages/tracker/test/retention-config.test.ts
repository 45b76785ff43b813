// The tracker's retention settings: GPUFLEET_RETENTION, GPUFLEET_TENANT_RETENTION and
// GPUFLEET_RETENTION_MAX_FINISHED, GPUFLEET_OUTPUTS_RETENTION over the defaults, and a bad value refused at start naming the variable and the reason.
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_RETENTION } from '@gpufleet/core';
import { loadTrackerConfig } from '@gpufleet/tracker';

const BASE = { GPUFLEET_EXECUTERS: '.' };

describe('loadTrackerConfig and retention', () => {
  it('reads the retention over the defaults, per status and per tenant', () => {
    expect(loadTrackerConfig(BASE, '/srv').retention).toEqual(DEFAULT_RETENTION);
    const config = loadTrackerConfig(
      {
        ...BASE,
        GPUFLEET_RETENTION: 'succeeded=1h',
        GPUFLEET_TENANT_RETENTION: 'alice:failed=30d,bob:max=1000',
      },
      '/srv',
    );
    expect(config.retention.byStatus).toEqual({ ...DEFAULT_RETENTION.byStatus, succeeded: 3_600_000 });
    expect(config.retention.tenants).toEqual({ alice: { failed: 2_592_000_000 } });
    expect(config.retention.tenantMax).toEqual({ bob: 1000 });
    expect(config.retention.maxFinished).toBeUndefined();
    expect(config.retention.outputsMs).toBeUndefined();
    const capped = loadTrackerConfig(
      { ...BASE, GPUFLEET_RETENTION_MAX_FINISHED: '50000', GPUFLEET_OUTPUTS_RETENTION: '30d' },
      '/srv',
    );
    expect(capped.retention.maxFinished).toBe(50_000);
    expect(capped.retention.outputsMs).toBe(30 * 86_400_000);
  });

  it('refuses a bad retention at start, naming the variable', () => {
    let issues: Array<{ field: string; reason: string }> = [];
    try {
      loadTrackerConfig(
        {
          ...BASE,
          GPUFLEET_RETENTION: 'running=1d',
          GPUFLEET_TENANT_RETENTION: 'alice',
          GPUFLEET_RETENTION_MAX_FINISHED: '0',
          GPUFLEET_OUTPUTS_RETENTION: 'a month',
        },
        '/srv',
      );
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues = error.issues;
    }
    expect(issues).toEqual([
      { field: 'GPUFLEET_RETENTION', reason: expect.stringMatching(/"running" is not a final status/) },
      { field: 'GPUFLEET_TENANT_RETENTION', reason: expect.stringMatching(/is not tenant=duration/) },
      { field: 'GPUFLEET_RETENTION_MAX_FINISHED', reason: 'must be at least 1 (got 0)' },
      { field: 'GPUFLEET_OUTPUTS_RETENTION', reason: expect.stringMatching(/"a month" is not a duration/) },
    ]);
  });

  it("refuses a tenant's maximum that is not a count, naming the variable", () => {
    expect(() => loadTrackerConfig({ ...BASE, GPUFLEET_TENANT_RETENTION: 'bob:max=0' }, '/srv')).toThrow(
      expect.objectContaining({
        issues: [
          { field: 'GPUFLEET_TENANT_RETENTION', reason: '"bob:max=0": the maximum must be an integer >= 1' },
        ],
      }),
    );
  });
});
