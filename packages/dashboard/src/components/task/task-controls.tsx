/**
 * What a person can do to the task: cancel it while it has not ended (asked to confirm first; the
 * API's answer is shown: cancelled at once, or its tracker told to stop it) and submit it again
 * with the same spec and input files (task-actions.ts), then go to the new task.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { isFinalStatus, type TaskStatus } from '@gpufleet/api-client';
import { href } from '../../router.js';
import { useSession } from '../../session.js';
import { resubmit } from '../../task-actions.js';

type Step = 'idle' | 'confirming' | 'cancelling' | 'resubmitting';

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function TaskControls({
  taskId,
  status,
  onChanged,
}: {
  taskId: string;
  status: TaskStatus;
  onChanged: () => void;
}) {
  const { client } = useSession();
  const [step, setStep] = useState<Step>('idle');
  const [outcome, setOutcome] = useState<{ text: string; ok: boolean; requested?: boolean } | null>(null);
  const confirm = useRef<HTMLButtonElement>(null);
  const ended = isFinalStatus(status);

  useEffect(() => {
    if (step === 'confirming') confirm.current?.focus();
  }, [step]);

  const cancel = async (): Promise<void> => {
    setStep('cancelling');
    try {
      const answer = await client.cancel(taskId);
      setOutcome(
        answer.cancelRequested
          ? { ok: true, requested: true, text: 'Cancel requested: its tracker is stopping it.' }
          : { ok: true, text: `Cancelled: it is ${answer.status} now.` },
      );
    } catch (error) {
      setOutcome({ ok: false, text: `Could not cancel: ${reason(error)}` });
    }
    setStep('idle');
    onChanged();
  };

  const again = async (): Promise<void> => {
    setStep('resubmitting');
    setOutcome(null);
    try {
      const id = await resubmit(client, taskId);
      location.hash = href('task', { id });
    } catch (error) {
      setOutcome({ ok: false, text: `Could not submit it again: ${reason(error)}` });
      setStep('idle');
    }
  };

  return (
    <div class="task-controls">
      <div class="buttons">
        {!ended && step !== 'confirming' && (
          <button
            type="button"
            class="danger"
            onClick={() => setStep('confirming')}
            disabled={step === 'cancelling'}
          >
            {step === 'cancelling' ? 'Cancelling…' : 'Cancel task…'}
          </button>
        )}
        <button type="button" onClick={() => void again()} disabled={step === 'resubmitting'}>
          {step === 'resubmitting' ? 'Submitting…' : 'Submit again'}
        </button>
      </div>
      {step === 'confirming' && !ended && (
        <div
          class="confirm"
          role="alertdialog"
          aria-labelledby="confirm-cancel"
          onKeyDown={(e) => e.key === 'Escape' && setStep('idle')}
        >
          <p id="confirm-cancel">
            Cancel this task? {status === 'queued' ? 'It leaves the queue.' : 'Its tracker stops it.'}
          </p>
          <button ref={confirm} type="button" class="danger" onClick={() => void cancel()}>
            Yes, cancel it
          </button>
          <button type="button" onClick={() => setStep('idle')}>
            Keep it
          </button>
        </div>
      )}
      {outcome && (
        <p class={outcome.ok ? 'outcome' : 'outcome error'} role="status">
          {outcome.requested && ended
            ? `Cancel requested: its tracker stopped it (${status.replace('_', ' ')}).`
            : outcome.text}
        </p>
      )}
    </div>
  );
}
