/**
 * Keeps one attempt's lease alive: every heartbeat it renews the lease and resets the stream
 * entry's idle time. When the attempt turns out to be lost (another tracker holds the task now),
 * `onLost` is called once (its log line marked as the tracker event `lost`). A cancel request seen
 * on renewal calls `onCancelRequested` (a backup for the tracker's control stream). Redis errors
 * are logged once and the keeper keeps trying: if Redis comes back before anyone else claims the
 * task, the attempt goes on.
 */
import type { Redis } from 'ioredis';
import {
  isRedisUnavailable,
  renewLease,
  type Claim,
  type Logger,
  type OutageReporter,
  type QueueKeys,
} from '@gpufleet/core';
import { eventField } from '../tracker-events.js';

export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private lost = false;

  constructor(
    private readonly deps: {
      redis: Redis;
      keys: QueueKeys;
      consumer: string;
      leaseMs: number;
      heartbeatMs: number;
      logger: Logger;
      outage: OutageReporter;
    },
    private readonly claim: Claim,
    private readonly onLost: () => void,
    private readonly onCancelRequested: () => void = () => undefined,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.renew(), this.deps.heartbeatMs);
    this.timer.unref();
  }

  get isLost(): boolean {
    return this.lost;
  }

  private async renew(): Promise<void> {
    try {
      const result = await renewLease(
        this.deps.redis,
        this.deps.keys,
        this.claim,
        this.deps.consumer,
        this.deps.leaseMs,
      );
      if (this.failing) this.deps.logger.debug('lease renewal works again');
      this.failing = false;
      if (result === 'cancel-requested') this.onCancelRequested();
      if (result === 'lost' && !this.lost) {
        this.lost = true;
        this.stop();
        this.deps.logger.warn(
          { ...eventField('lost'), stage: 'running' },
          'lost the lease: another attempt holds this task now',
        );
        this.onLost();
      }
    } catch (error) {
      if (isRedisUnavailable(error)) this.deps.outage.report(error, { what: 'lease renewal' });
      else if (!this.failing) this.deps.logger.warn({ err: error }, 'lease renewal failed; will keep trying');
      this.failing = true;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
