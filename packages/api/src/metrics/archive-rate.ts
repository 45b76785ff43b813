/**
 * Tasks archived per minute, per queue, from the all-time count a scrape reads (core
 * queue-memory.ts): the count's rise since the oldest sample of the last five minutes, per minute.
 * The samples are this API process's own scrapes, so the first scrape (no earlier sample) answers
 * null and the gauge is left out; Prometheus's rate() over `gpufleet_queue_archived_tasks` gives
 * the same without depending on this process's scrapes.
 */
const WINDOW_MS = 5 * 60_000;

export class ArchiveRate {
  private readonly samples = new Map<string, Array<{ at: number; count: number }>>();

  perMinute(queue: string, count: number, at: number): number | null {
    const kept = (this.samples.get(queue) ?? []).filter((s) => at - s.at <= WINDOW_MS && s.count <= count);
    const oldest = kept[0];
    kept.push({ at, count });
    this.samples.set(queue, kept);
    if (!oldest || at <= oldest.at) return null;
    return ((count - oldest.count) * 60_000) / (at - oldest.at);
  }
}
