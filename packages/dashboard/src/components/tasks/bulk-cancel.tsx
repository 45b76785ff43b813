/**
 * Cancelling the tasks ticked in the table: "Cancel N selected", then a dialog that asks first
 * (what cancelling does to a waiting and to a running task), then the API's answer for each task
 * (task-actions.ts `cancelMany`): cancelled at once, being stopped by its tracker, or why not.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { GpufleetClient } from '@gpufleet/api-client';
import { href } from '../../router.js';
import { cancelMany, type CancelOutcome } from '../../task-actions.js';

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function Outcomes({ outcomes, onDismiss }: { outcomes: CancelOutcome[]; onDismiss: () => void }) {
  const done = outcomes.filter((o) => o.ok && o.outcome === 'cancelled').length;
  const stopping = outcomes.filter((o) => o.ok && o.outcome !== 'cancelled').length;
  const failed = outcomes.filter((o) => !o.ok);
  return (
    <section class={`outcomes${failed.length > 0 ? ' bad' : ''}`} role="status" aria-label="Cancel results">
      <header>
        <strong>
          {plural(done, 'task')} cancelled
          {stopping > 0 && `, ${plural(stopping, 'task')} being stopped by their trackers`}
          {failed.length > 0 && `, ${failed.length} could not be cancelled`}
        </strong>
        <button type="button" class="link" onClick={onDismiss}>
          Dismiss
        </button>
      </header>
      <ul>
        {outcomes.map((o) => (
          <li key={o.id} class={o.ok ? undefined : 'error'}>
            <a class="mono" href={href('task', { id: o.id })}>
              {o.id}
            </a>{' '}
            {o.ok ? (o.outcome === 'cancelled' ? 'cancelled' : `stopping (it was ${o.outcome})`) : o.outcome}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function BulkCancel({
  client,
  ids,
  available,
  onDone,
}: {
  client: GpufleetClient;
  /** The tasks ticked (that can still be cancelled). */
  ids: readonly string[];
  /** How many on the page could be ticked: none, and there is no button (the answers stay). */
  available: number;
  /** After the answers came: untick them and read the page again. */
  onDone: (ids: readonly string[]) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [asking, setAsking] = useState(false);
  const [working, setWorking] = useState(false);
  const [outcomes, setOutcomes] = useState<CancelOutcome[] | null>(null);

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (asking && !element.open) element.showModal();
    if (!asking && element.open) element.close();
  }, [asking]);

  const confirm = async (): Promise<void> => {
    const chosen = [...ids];
    setWorking(true);
    const answers = await cancelMany(client, chosen);
    const order = new Map(chosen.map((id, i) => [id, i]));
    setOutcomes(answers.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0)));
    setWorking(false);
    setAsking(false);
    onDone(chosen);
  };

  return (
    <>
      {available > 0 && (
        <button
          type="button"
          class="danger"
          disabled={ids.length === 0}
          title={ids.length === 0 ? 'Tick the tasks to cancel' : undefined}
          onClick={() => setAsking(true)}
        >
          Cancel {ids.length} selected
        </button>
      )}
      <dialog
        ref={dialog}
        class="bulk-confirm"
        aria-labelledby="cancel-title"
        onClose={() => setAsking(false)}
        onCancel={(e) => working && e.preventDefault()}
      >
        <h2 id="cancel-title">Cancel {plural(ids.length, 'task')}?</h2>
        <p>
          A waiting task ends <strong>cancelled</strong> at once. A running one is stopped by its tracker
          (SIGTERM, then SIGKILL after its grace) and ends cancelled; what it wrote so far is kept. This
          cannot be undone.
        </p>
        <div class="actions">
          <button type="button" onClick={() => setAsking(false)} disabled={working}>
            Keep them
          </button>
          <button type="button" class="danger solid" onClick={() => void confirm()} disabled={working}>
            {working ? 'Cancelling…' : `Cancel ${plural(ids.length, 'task')}`}
          </button>
        </div>
      </dialog>
      {outcomes && <Outcomes outcomes={outcomes} onDismiss={() => setOutcomes(null)} />}
    </>
  );
}
