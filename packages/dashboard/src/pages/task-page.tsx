/**
 * One task, `#/tasks/<id>`, live while the page is open: its name, status and what can be done to
 * it; its timeline from the events stream; while it waits, why; a service task's service (its
 * state, endpoints and uptime, live); its output as it is written; its outputs with previews and
 * downloads once it has ended; its details, GPU usage and parameters.
 * A task the key may not see reads "not found", as one that does not exist. The parts are in
 * components/task/.
 */
import { isFinalStatus } from '@gpufleet/api-client';
import { GpuUsage } from '../components/task/gpu-usage.js';
import { ServicePanel } from '../components/task/service-panel.js';
import { StatusBadge } from '../components/status-badge.js';
import { TaskControls } from '../components/task/task-controls.js';
import { TaskDetails } from '../components/task/task-details.js';
import { TaskLogs } from '../components/task/task-logs.js';
import { TaskOutputs } from '../components/task/task-outputs.js';
import { TaskParams } from '../components/task/task-params.js';
import { TaskTimeline } from '../components/task/task-timeline.js';
import { useNow } from '../components/task/use-clock.js';
import { useTask } from '../components/task/use-task.js';
import { WaitInfo } from '../components/task/wait-info.js';
import { ago } from '../format.js';
import { href } from '../router.js';
import '../components/task/task.css';

function NotFound({ id }: { id: string }) {
  return (
    <section class="task-page" aria-labelledby="task-title">
      <h1 id="task-title">Task not found</h1>
      <p>
        No task <code>{id}</code> is visible to this key: it does not exist, or it belongs to another tenant.
      </p>
      <p>
        <a href={href('tasks')}>See your tasks</a>
      </p>
    </section>
  );
}

function OneTask({ id }: { id: string }) {
  const feed = useTask(id);
  const { task } = feed;
  // Each second while it runs ("for 12 s so far"), each half minute once it ended ("submitted 3 min ago").
  const now = useNow(task !== null && isFinalStatus(task.status) ? 30_000 : 1000);
  if (feed.notFound) return <NotFound id={id} />;
  if (!task) {
    return feed.error ? (
      <p class="error" role="alert">
        Could not read task {id}: {feed.error}
      </p>
    ) : (
      <p class="loading">Loading task…</p>
    );
  }
  // The stream hears of a transition before the record is read again.
  const status = feed.events.at(-1)?.status ?? task.status;
  const shown = { ...task, status };
  return (
    <section class="task-page" aria-labelledby="task-title">
      <header class="task-head">
        <div class="task-title">
          <p class="crumbs small">
            <a href={href('tasks')}>Tasks</a> / <span class="mono">{task.id}</span>
          </p>
          <h1 id="task-title">
            {task.name ?? <span class="mono">{task.id}</span>}{' '}
            <StatusBadge status={status} label={`Status: ${status}`} />
          </h1>
          <p class="muted small">
            {task.executer} on queue {task.queue} · {task.tenant} · submitted {ago(task.createdAt, now)}
          </p>
        </div>
        <TaskControls taskId={task.id} status={status} onChanged={feed.reload} />
      </header>
      {feed.error && (
        <p class="error small" role="alert">
          Could not read the task again: {feed.error}
        </p>
      )}
      {task.error && isFinalStatus(status) && (
        <p class={`task-error${status === 'cancelled' ? ' warn' : ''}`} role="note">
          {task.errorCode && <code>{task.errorCode}</code>} {task.error}
        </p>
      )}
      <TaskTimeline
        task={shown}
        events={feed.events}
        serviceEvents={feed.serviceEvents}
        live={feed.live}
        resync={feed.resync}
        now={now}
      />
      <div class="task-grid">
        <div class="task-main">
          {status === 'queued' && <WaitInfo task={task} now={now} />}
          {feed.service && <ServicePanel service={feed.service} status={status} now={now} />}
          <TaskLogs taskId={task.id} status={status} />
          <TaskOutputs task={shown} />
        </div>
        <aside class="task-side" aria-label="About the task">
          <TaskDetails task={task} now={now} />
          <GpuUsage task={task} />
          <TaskParams params={task.params} />
        </aside>
      </div>
    </section>
  );
}

export function TaskPage({ id }: { id: string }) {
  // Another task (a link, "submit again") starts afresh: its own streams, nothing of this one's.
  return <OneTask key={id} id={id} />;
}
