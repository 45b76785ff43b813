/**
 * The fleet: every tracker with its GPUs as a grid. Each GPU cell says what is on it (the task and
 * its tenant; another tenant's task, unnamed, to a user key), or why it takes none (a foreign
 * process, settling, drained, unhealthy), its model and memory, and its utilisation and memory in
 * use when the tracker samples them. A tracker whose heartbeat stopped is shown as lost. Read every
 * 2 s while the tab is visible (GET /v1/trackers: one read of the registry, cheap for the API).
 */
import type { TrackerView } from '@gpufleet/api-client';
import { GpuCell } from '../components/gpu-cell.js';
import { usePoll } from '../hooks/use-poll.js';
import { ago } from '../format.js';
import { href } from '../router.js';
import { useSession } from '../session.js';

const EVERY_MS = 2000;

function Summary({ trackers }: { trackers: TrackerView[] }) {
  const live = trackers.filter((t) => t.live);
  const gpus = live.flatMap((t) => t.gpus);
  const running = gpus.filter((g) => g.taskId !== null || g.othersTask).length;
  const held = gpus.filter((g) => g.taskId === null && !g.othersTask && g.hold !== null).length;
  return (
    <dl class="summary" aria-label="Fleet summary">
      <div>
        <dt>Trackers</dt>
        <dd>
          {live.length} live{trackers.length > live.length ? `, ${trackers.length - live.length} lost` : ''}
        </dd>
      </div>
      <div>
        <dt>GPUs</dt>
        <dd>{gpus.length}</dd>
      </div>
      <div>
        <dt>Running</dt>
        <dd>{running}</dd>
      </div>
      <div>
        <dt>Free</dt>
        <dd>{gpus.length - running - held}</dd>
      </div>
      <div>
        <dt>Held back</dt>
        <dd>{held}</dd>
      </div>
    </dl>
  );
}

function TrackerCard({ tracker, now }: { tracker: TrackerView; now: number }) {
  const inventory = tracker.inventory;
  return (
    <article class={`tracker${tracker.live ? '' : ' lost'}`} aria-label={`tracker ${tracker.name}`}>
      <header>
        <h2>{tracker.name}</h2>
        <span class={`badge ${tracker.live ? 'ok' : 'bad'}`}>{tracker.live ? 'live' : 'lost'}</span>
        {tracker.drained !== null && (
          <span class="badge warn" title={tracker.drained}>
            drained
          </span>
        )}
        <span class="muted">
          {tracker.host} · queue {tracker.queue} · heartbeat {ago(tracker.lastHeartbeat, now)}
        </span>
      </header>
      {tracker.drained !== null && <p class="note">Drained: {tracker.drained}</p>}
      {inventory?.error && <p class="note bad">nvidia-smi: {inventory.error}</p>}
      {tracker.gpus.length > 0 ? (
        <ul class="gpu-grid" aria-label={`GPUs of ${tracker.name}`}>
          {tracker.gpus.map((gpu) => (
            <GpuCell key={gpu.id} gpu={gpu} />
          ))}
        </ul>
      ) : (
        <p class="muted">No GPUs: {tracker.cpuSlots} CPU slots.</p>
      )}
      <footer class="muted small">
        {tracker.cpuSlots > 0 && (
          <span>
            CPU slots: {tracker.cpuTasks.length}/{tracker.cpuSlots} busy
            {tracker.cpuTasks.map((id) => (
              <a key={id} href={href('task', { id })} class="mono">
                {' '}
                {id}
              </a>
            ))}
            {' · '}
          </span>
        )}
        {inventory?.driverVersion && (
          <span>
            driver {inventory.driverVersion}
            {inventory.cudaVersion ? `, CUDA ${inventory.cudaVersion}` : ''} ·{' '}
          </span>
        )}
        executers: {tracker.executers.join(', ') || '–'}
      </footer>
    </article>
  );
}

export function FleetPage() {
  const { client } = useSession();
  const { data, error } = usePoll((signal) => client.trackers({ signal }), EVERY_MS);
  const now = Date.now();
  const trackers = data?.trackers ?? [];
  return (
    <section aria-labelledby="fleet-title">
      <h1 id="fleet-title">Fleet</h1>
      {error && (
        <p class="error" role="alert">
          Could not read the fleet: {error}
        </p>
      )}
      {data === null && !error && <p class="loading">Loading…</p>}
      {data !== null && <Summary trackers={trackers} />}
      {data !== null && trackers.length === 0 && (
        <p class="muted">
          No trackers have joined yet. Start one with <code>gpufleet-tracker</code>.
        </p>
      )}
      {[...trackers]
        .sort((a, b) => Number(b.live) - Number(a.live) || a.name.localeCompare(b.name))
        .map((tracker) => (
          <TrackerCard key={`${tracker.queue}/${tracker.name}`} tracker={tracker} now={now} />
        ))}
    </section>
  );
}
