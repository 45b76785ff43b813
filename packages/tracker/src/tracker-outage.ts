/**
 * The tracker's OutageReporter (one voice for "Redis is unreachable"): the first report of an
 * outage is also the `redis-down` tracker event, its 'redis unreachable' line marked with it.
 */
import { OutageReporter, type Logger } from '@gpufleet/core';
import { eventField, type EmitTrackerEvent } from './tracker-events.js';

export class TrackerOutage extends OutageReporter {
  constructor(
    logger: Logger,
    private readonly emitEvent: EmitTrackerEvent,
  ) {
    super(logger);
  }

  override report(error: unknown, context: Record<string, unknown> = {}): void {
    if (this.down) return super.report(error, context);
    // The first report of an outage is always logged (nothing was logged for a second before it).
    super.report(error, { ...context, ...eventField('redis-down') });
    this.emitEvent('redis-down', { error: error instanceof Error ? error.message : String(error) });
  }
}
