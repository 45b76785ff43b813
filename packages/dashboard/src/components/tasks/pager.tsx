/**
 * Paging through the tasks: Previous and Next by the API's cursors (the page number counts the
 * pages seen from the newest), and a way back to the newest tasks.
 */
export function Pager({
  number,
  count,
  hasNext,
  onPrevious,
  onNext,
  onNewest,
}: {
  number: number;
  count: number;
  hasNext: boolean;
  onPrevious: () => void;
  onNext: () => void;
  onNewest: () => void;
}) {
  return (
    <nav class="pager" aria-label="Pages of tasks">
      <button type="button" onClick={onNewest} disabled={number === 1}>
        ⇤ Newest
      </button>
      <button type="button" onClick={onPrevious} disabled={number === 1}>
        ← Previous
      </button>
      <span class="muted" aria-live="polite">
        Page {number} · {count} {count === 1 ? 'task' : 'tasks'}
        {hasNext ? '' : ' · the end'}
      </span>
      <button type="button" onClick={onNext} disabled={!hasNext}>
        Next →
      </button>
    </nav>
  );
}
