/**
 * Retry: submits a task again with the spec and input files it was submitted with (task-actions.ts
 * `resubmit`; a new task, the old one stays as it ended), then links to the new task; or says why
 * it could not (no tracker can run it, its input files are gone), and may be tried again.
 * `useRetry` holds where it stands, so the row can say why under itself, across the table.
 */
import { useState } from 'preact/hooks';
import type { GpufleetClient } from '@gpufleet/api-client';
import { href } from '../../router.js';
import { resubmit } from '../../task-actions.js';

export type RetryState =
  { kind: 'idle' } | { kind: 'busy' } | { kind: 'done'; id: string } | { kind: 'failed'; message: string };

export function useRetry(client: GpufleetClient, id: string): { state: RetryState; retry: () => void } {
  const [state, setState] = useState<RetryState>({ kind: 'idle' });
  const retry = (): void => {
    setState({ kind: 'busy' });
    resubmit(client, id).then(
      (copy) => setState({ kind: 'done', id: copy }),
      (error: unknown) =>
        setState({ kind: 'failed', message: error instanceof Error ? error.message : String(error) }),
    );
  };
  return { state, retry };
}

export function RetryButton({
  state,
  retry,
  label,
}: {
  state: RetryState;
  retry: () => void;
  label: string;
}) {
  if (state.kind === 'done') {
    return (
      <span class="retried" role="status">
        Retried as{' '}
        <a class="mono" href={href('task', { id: state.id })}>
          {state.id}
        </a>
      </span>
    );
  }
  return (
    <button type="button" disabled={state.kind === 'busy'} aria-label={`Retry ${label}`} onClick={retry}>
      {state.kind === 'busy' ? 'Submitting…' : 'Retry'}
    </button>
  );
}
