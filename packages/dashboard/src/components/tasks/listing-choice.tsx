/**
 * Which tasks the page lists: the current ones (in Redis: waiting, running, and those that ended
 * until retention moves them to the archive; newest first, optionally created within a range of
 * days), or archived ones (those that left Redis, by the UTC day they ended, a range of at most 31
 * days). Each choice says what it shows; switching resets the range to the choice's default.
 */
import { defaultRange, MAX_ARCHIVE_DAYS } from './tasks-view.js';

export function ListingChoice({
  archived,
  from,
  to,
  problem,
  onChange,
}: {
  archived: boolean;
  from: string;
  to: string;
  /** Why the range cannot be listed (shown beside it), or null. */
  problem: string | null;
  onChange: (change: { archived?: boolean; from?: string; to?: string }) => void;
}) {
  return (
    <fieldset class="listing-choice">
      <legend>Which tasks</legend>
      <label class="choice">
        <input
          type="radio"
          name="listing"
          checked={!archived}
          onChange={() => onChange({ archived: false, ...defaultRange(false) })}
        />
        <span>
          <strong>Current</strong>
          <small class="muted">waiting, running, and ended until retention archives them; newest first</small>
        </span>
      </label>
      <label class="choice">
        <input
          type="radio"
          name="listing"
          checked={archived}
          onChange={() => onChange({ archived: true, ...defaultRange(true) })}
        />
        <span>
          <strong>Archived</strong>
          <small class="muted">ended long enough ago to leave Redis; by the day they ended (UTC)</small>
        </span>
      </label>
      <div class="range">
        <label>
          {archived ? 'Ended from' : 'Created from'}
          <input
            type="date"
            value={from}
            max={to || undefined}
            onChange={(e) => onChange({ from: e.currentTarget.value })}
          />
        </label>
        <label>
          to
          <input
            type="date"
            value={to}
            min={from || undefined}
            onChange={(e) => onChange({ to: e.currentTarget.value })}
          />
        </label>
        <small class={problem ? 'error' : 'muted'} role={problem ? 'alert' : undefined}>
          {problem ??
            (archived
              ? `UTC days, both included; at most ${MAX_ARCHIVE_DAYS} days`
              : 'UTC days, both included; leave either empty for no bound')}
        </small>
      </div>
    </fieldset>
  );
}
