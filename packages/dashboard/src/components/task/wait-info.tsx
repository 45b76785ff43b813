/**
 * Why a queued task has not started: the API's wait reason in words, its place in line, when it
 * should start at the latest (a tracker reserved GPUs for it), and the end of its retry backoff.
 */
import type { TaskView } from '@gpufleet/api-client';
import { dateTime, duration } from '../../format.js';
import { queuePositionText, waitReasonText } from './wait-reasons.js';

export function WaitInfo({ task, now }: { task: TaskView; now: number }) {
  const notBefore = task.notBefore === null ? null : Date.parse(task.notBefore);
  return (
    <section class="panel wait" aria-labelledby="wait-title">
      <h2 id="wait-title">Waiting to start</h2>
      <p class="wait-reason">
        {task.waitReason ? (
          <>
            <span class="badge warn" title="wait reason">
              {task.waitReason}
            </span>{' '}
            {waitReasonText(task.waitReason, task)}
          </>
        ) : (
          'It waits for a tracker to take it.'
        )}
      </p>
      <dl class="facts inline">
        {task.queuePosition !== null && (
          <div>
            <dt>Place in line</dt>
            <dd>{queuePositionText(task.queuePosition)}</dd>
          </div>
        )}
        {task.expectedStartAt !== null && (
          <div>
            <dt>Starts by</dt>
            <dd>
              {dateTime(new Date(task.expectedStartAt).toISOString())}
              {task.expectedStartAt > now && (
                <span class="muted"> (in {duration(task.expectedStartAt - now)})</span>
              )}
            </dd>
          </div>
        )}
        {notBefore !== null && (
          <div>
            <dt>Retry backoff until</dt>
            <dd>
              {dateTime(task.notBefore)}
              {notBefore > now && <span class="muted"> (in {duration(notBefore - now)})</span>}
            </dd>
          </div>
        )}
        <div>
          <dt>Waiting for</dt>
          <dd>{duration(now - Date.parse(task.createdAt))}</dd>
        </div>
      </dl>
    </section>
  );
}
