/**
 * The queues: per queue, what waits and runs, what died, the oldest wait, the tenants' shares, and
 * charts of the last hour (tasks ended per minute, the wait before a start, the GPUs busy). The
 * figures are read every 5 s and the hour every 15 s while the tab is visible (GET /v1/queues,
 * GET /v1/queues/:queue/history: the API keeps the hour in memory, no scan per read).
 */
import type { QueueHistory, QueueView } from '@gpufleet/api-client';
import { QueueCharts } from '../components/queue-charts.js';
import { usePoll } from '../hooks/use-poll.js';
import { duration } from '../format.js';
import { href } from '../router.js';
import { useSession } from '../session.js';

function Figures({ queue }: { queue: QueueView }) {
  const waiting = new URLSearchParams({ status: 'queued', queue: queue.queue });
  return (
    <dl class="summary" aria-label={`queue ${queue.queue} now`}>
      <div>
        <dt>Waiting</dt>
        <dd>
          <a href={href('tasks', {}, waiting)}>{queue.depth}</a>
        </dd>
      </div>
      <div>
        <dt>Running</dt>
        <dd>{queue.running}</dd>
      </div>
      <div>
        <dt>Dead</dt>
        <dd>
          <a href={href('dead')}>{queue.dead}</a>
        </dd>
      </div>
      <div>
        <dt>Oldest wait</dt>
        <dd>{queue.oldestWaitingAgeMs === null ? '–' : duration(queue.oldestWaitingAgeMs)}</dd>
      </div>
      <div>
        <dt>Live trackers</dt>
        <dd>{queue.liveTrackers}</dd>
      </div>
      {Object.entries(queue.waitingByGpus).map(([gpus, n]) => (
        <div key={gpus}>
          <dt>Waiting, {gpus === '0' ? 'CPU' : `${gpus} GPU${gpus === '1' ? '' : 's'}`}</dt>
          <dd>{n}</dd>
        </div>
      ))}
    </dl>
  );
}

function Tenants({ queue }: { queue: QueueView }) {
  const rows = Object.entries(queue.tenants).sort(([, a], [, b]) => a.fairShareRank - b.fairShareRank);
  if (rows.length === 0) return <p class="muted">No tenant has tasks waiting or running here.</p>;
  return (
    <table aria-label={`tenants of queue ${queue.queue}`}>
      <thead>
        <tr>
          <th scope="col">Tenant</th>
          <th scope="col">Waiting</th>
          <th scope="col">Running</th>
          <th scope="col">GPUs</th>
          <th scope="col">Weight</th>
          <th scope="col">GPU quota</th>
          <th scope="col">Recent use (GPU-h)</th>
          <th scope="col">Fair-share place</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([tenant, t]) => (
          <tr key={tenant}>
            <th scope="row">{tenant}</th>
            <td>{t.waiting}</td>
            <td>{t.runningTasks}</td>
            <td>{t.runningGpus}</td>
            <td>{t.weight}</td>
            <td>{t.maxRunningGpus ?? 'none'}</td>
            <td>{t.usageGpuHours}</td>
            <td>{t.fairShareRank}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function QueueCard({ queue }: { queue: QueueView }) {
  const { client } = useSession();
  const history = usePoll<QueueHistory>((signal) => client.queueHistory(queue.queue, { signal }), 15_000, [
    queue.queue,
  ]);
  return (
    <article class="queue" aria-labelledby={`queue-${queue.queue}`}>
      <h2 id={`queue-${queue.queue}`}>Queue {queue.queue}</h2>
      <Figures queue={queue} />
      <Tenants queue={queue} />
      {history.error && <p class="error">Could not read the last hour: {history.error}</p>}
      {history.data && <QueueCharts history={history.data} />}
    </article>
  );
}

export function QueuesPage() {
  const { client } = useSession();
  const { data, error } = usePoll((signal) => client.queues({ signal }), 5000);
  return (
    <section aria-labelledby="queues-title">
      <h1 id="queues-title">Queues</h1>
      {error && (
        <p class="error" role="alert">
          Could not read the queues: {error}
        </p>
      )}
      {data === null && !error && <p class="loading">Loading…</p>}
      {data?.queues.length === 0 && <p class="muted">No queue has been used yet.</p>}
      {data?.queues.map((queue) => (
        <QueueCard key={queue.queue} queue={queue} />
      ))}
    </section>
  );
}
