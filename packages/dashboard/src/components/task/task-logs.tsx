/**
 * The task's output as it is written: stdout and stderr lines in the order they came, stderr
 * marked (a colour and an `err` gutter) and either stream alone on request. While "follow" is on
 * the view stays at the bottom as lines arrive; scrolling up turns it off, scrolling back to the
 * bottom (or the checkbox) turns it on again. The page keeps the last MAX_LINES lines and says how
 * many earlier ones it dropped; the whole log downloads through the log route.
 */
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { LogStreamName, TaskStatus } from '@gpufleet/api-client';
import { useSession } from '../../session.js';
import { downloadLog } from './download.js';
import { MAX_LINES, useLogFollow, type LogFollow } from './use-log-follow.js';

type Show = 'both' | LogStreamName;

const count = (n: number): string => n.toLocaleString('en');

function Empty({ follow, status }: { follow: LogFollow; status: TaskStatus }) {
  if (follow.state === 'ended') return <p class="log-empty">The task wrote no output.</p>;
  if (status === 'queued') return <p class="log-empty">No output yet: the task has not started.</p>;
  return <p class="log-empty">Waiting for output…</p>;
}

function LogStatus({ follow }: { follow: LogFollow }) {
  const end = follow.end;
  if (follow.state === 'reconnecting') return <span class="warn-text">reconnecting…</span>;
  if (follow.state === 'connecting') return <span class="muted">waiting for output</span>;
  if (end) {
    return (
      <span class="muted">
        ended {end.status.replace('_', ' ')}
        {end.exitCode !== null ? `, exit code ${end.exitCode}` : ''}
      </span>
    );
  }
  return <span class="live-text">following</span>;
}

export function TaskLogs({ taskId, status }: { taskId: string; status: TaskStatus }) {
  const { client } = useSession();
  const follow = useLogFollow(taskId, true);
  const [auto, setAuto] = useState(true);
  const [show, setShow] = useState<Show>('both');
  const [saving, setSaving] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);
  const { buffer } = follow;
  const lines = [...buffer.lines, ...buffer.pending()];

  useLayoutEffect(() => {
    const el = box.current;
    if (auto && el) el.scrollTop = el.scrollHeight;
  }, [follow.version, auto, show]);

  const scrolled = (): void => {
    const el = box.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
    if (atBottom !== auto) setAuto(atBottom);
  };

  const save = async (): Promise<void> => {
    setSaving('Preparing the log…');
    try {
      await downloadLog(client, taskId);
      setSaving(null);
    } catch (error) {
      setSaving(`Could not download the log: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  return (
    <section class="panel logs" aria-labelledby="logs-title">
      <header class="panel-head">
        <h2 id="logs-title">Output</h2>
        <LogStatus follow={follow} />
        <span class="muted small">{count(buffer.dropped + buffer.lines.length)} lines</span>
        <div class="log-tools">
          <label>
            Show{' '}
            <select
              value={show}
              onChange={(e) => setShow((e.currentTarget as HTMLSelectElement).value as Show)}
            >
              <option value="both">stdout and stderr</option>
              <option value="stdout">stdout only</option>
              <option value="stderr">stderr only</option>
            </select>
          </label>
          <label>
            <input
              type="checkbox"
              checked={auto}
              onChange={(e) => setAuto((e.currentTarget as HTMLInputElement).checked)}
            />{' '}
            Follow
          </label>
          <button type="button" onClick={() => void save()} disabled={saving === 'Preparing the log…'}>
            Download full log
          </button>
        </div>
      </header>
      {saving && (
        <p class="small muted" role="status">
          {saving}
        </p>
      )}
      {buffer.dropped > 0 && (
        <p class="log-dropped" role="note">
          {count(buffer.dropped)} earlier lines are not shown: the page keeps the last {count(MAX_LINES)}.
          Download the full log to read them.
        </p>
      )}
      {follow.resync && <p class="note small">The log started again from its beginning: {follow.resync}</p>}
      <div
        ref={box}
        class={`log show-${show}`}
        role="log"
        aria-live="off"
        aria-label="Task output"
        tabIndex={0}
        onScroll={scrolled}
      >
        {lines.length === 0 ? (
          <Empty follow={follow} status={status} />
        ) : (
          lines.map((line) => (
            <div key={line.seq} class={`line ${line.stream}`} data-stream={line.stream}>
              <span class="gutter" title={line.stream}>
                {line.stream === 'stderr' ? 'err' : ''}
              </span>
              {line.text}
            </div>
          ))
        )}
      </div>
    </section>
  );
}
