/**
 * A tracker's sweep, run every GPUFLEET_SWEEP_MS: retries whose backoff has ended go back to their
 * streams; the running tasks of dead trackers and of lapsed leases go back first in line (see
 * reclaim.ts); tasks no live tracker can run end `dead` (see unschedulable-sweep.ts), checked less
 * often since it reads the whole registry (each check is the `unschedulable-checked` event).
 */
import type { Redis } from 'ioredis';
import { promoteDelayed, type Logger, type QueueKeys } from '@gpufleet/core';
import { reclaimIdle } from './reclaim.js';
import type { EmitTrackerEvent } from './tracker-events.js';
import { sweepUnschedulable } from './unschedulable-sweep.js';

export interface QueueSweepDeps {
  redis: Redis;
  keys: QueueKeys;
  consumer: string;
  leaseMs: number;
  aliveMs: number;
  unschedulableMs: number;
  /** How long the live log stream of a task the sweep dead-letters stays. */
  logGraceMs?: number;
  streams: ReadonlyArray<{ key: string }>;
  logger: Logger;
  now: () => number;
  /** True for tasks this tracker runs now. */
  isRunningHere: (taskId: string) => boolean;
  /** When this tracker's command connection last came back after a loss (0: never lost). */
  reconnectedAt: () => number;
  /** Announces orphans requeued and each unschedulable check (`unschedulable-checked`). */
  emit: EmitTrackerEvent;
}

export class QueueSweep {
  /** When the unschedulable check last ran (it need not run every sweep). */
  private unschedulableCheckedAt = 0;

  constructor(private readonly deps: QueueSweepDeps) {}

  async run(): Promise<void> {
    const { deps } = this;
    await promoteDelayed(deps.redis, deps.keys, deps.now());
    // After an outage every lease and liveness key looks lapsed: give live trackers one lease to
    // renew them first.
    if (deps.now() - deps.reconnectedAt() < deps.leaseMs) return;
    await reclaimIdle(deps);
    // The registry read behind it costs more than a reclaim: a quarter of the wait is precise enough.
    const unschedulableEveryMs = Math.min(5000, deps.unschedulableMs / 4);
    if (deps.now() - this.unschedulableCheckedAt < unschedulableEveryMs) return;
    this.unschedulableCheckedAt = deps.now();
    deps.emit('unschedulable-checked', { deadLettered: await sweepUnschedulable(deps) });
  }
}
