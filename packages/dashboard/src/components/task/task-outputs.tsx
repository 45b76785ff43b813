/**
 * The task's outputs once it has ended: the manifest's files with their sizes, each to preview
 * (images, text, tables) or download, and all of them as one zip. Downloads go through short-lived
 * links (download.ts), never with the key in a URL. Before the end, or when there are none (it
 * never ran, the retention deleted them), it says so.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiRequestError, isFinalStatus, type OutputManifest, type TaskView } from '@gpufleet/api-client';
import { bytes, dateTime } from '../../format.js';
import { useSession } from '../../session.js';
import { downloadOutputs } from './download.js';
import { OutputPreview } from './output-preview.js';
import { previewKind } from './preview-kind.js';

/** Files listed before "show all". */
const LISTED = 100;

type Manifest =
  { kind: 'loading' } | { kind: 'ready'; manifest: OutputManifest } | { kind: 'none'; message: string };

function useManifest(task: TaskView): Manifest {
  const { client } = useSession();
  const [state, setState] = useState<Manifest>({ kind: 'loading' });
  const ended = isFinalStatus(task.status);
  const attempt = task.outputs?.attempt ?? null;
  useEffect(() => {
    if (!ended) return;
    const abort = new AbortController();
    setState({ kind: 'loading' });
    client
      .task(task.id)
      .outputs({ signal: abort.signal })
      .then(
        (manifest) => {
          if (!abort.signal.aborted) setState({ kind: 'ready', manifest });
        },
        (error: unknown) => {
          if (abort.signal.aborted) return;
          const code = error instanceof ApiRequestError ? error.code : null;
          const message =
            code === 'NO_OUTPUTS'
              ? 'The task ended without outputs.'
              : code === 'OUTPUTS_EXPIRED'
                ? 'The outputs retention deleted its outputs.'
                : `Could not read the outputs: ${error instanceof Error ? error.message : String(error)}`;
          setState({ kind: 'none', message });
        },
      );
    return () => abort.abort();
  }, [client, task.id, ended, attempt]);
  return state;
}

export function TaskOutputs({ task }: { task: TaskView }) {
  const { client } = useSession();
  const state = useManifest(task);
  const [previewed, setPreviewed] = useState<string | null>(null);
  const [all, setAll] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  const download = async (target: { path: string } | { zip: true }): Promise<void> => {
    setMessage(null);
    try {
      await downloadOutputs(client, task.id, target);
    } catch (error) {
      setMessage(`Could not download: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  const manifest = state.kind === 'ready' ? state.manifest : null;
  const files = manifest ? (all ? manifest.files : manifest.files.slice(0, LISTED)) : [];
  const open = manifest?.files.find((f) => f.path === previewed) ?? null;
  return (
    <section class="panel outputs" aria-labelledby="outputs-title">
      <header class="panel-head">
        <h2 id="outputs-title">Outputs</h2>
        {manifest && (
          <>
            <span class="muted small">
              attempt {manifest.attempt} · {manifest.files.length}{' '}
              {manifest.files.length === 1 ? 'file' : 'files'} · {bytes(manifest.bytes)}
            </span>
            <button type="button" class="primary" onClick={() => void download({ zip: true })}>
              Download all as zip
            </button>
          </>
        )}
      </header>
      {!isFinalStatus(task.status) && <p class="muted small">Outputs appear here when the task ends.</p>}
      {isFinalStatus(task.status) && state.kind === 'loading' && <p class="loading">Loading…</p>}
      {state.kind === 'none' && (
        <p class="muted">
          {state.message}
          {task.outputsDeletedAt && ` (${dateTime(task.outputsDeletedAt)})`}
        </p>
      )}
      {message && (
        <p class="error" role="alert">
          {message}
        </p>
      )}
      {manifest && (
        <table class="files">
          <caption class="sr-only">Output files</caption>
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col" class="num">
                Size
              </th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {files.map((file) => (
              <tr key={file.path} class={file.path === previewed ? 'selected' : ''}>
                <td class="mono">{file.path}</td>
                <td class="num">{bytes(file.size)}</td>
                <td class="actions">
                  {previewKind(file.path) && (
                    <button
                      type="button"
                      aria-label={`Preview ${file.path}`}
                      aria-pressed={file.path === previewed}
                      onClick={() => setPreviewed(file.path === previewed ? null : file.path)}
                    >
                      Preview
                    </button>
                  )}
                  <button
                    type="button"
                    aria-label={`Download ${file.path}`}
                    onClick={() => void download({ path: file.path })}
                  >
                    Download
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {manifest && manifest.files.length > files.length && (
        <button type="button" class="link" onClick={() => setAll(true)}>
          Show all {manifest.files.length} files
        </button>
      )}
      {open && (
        <OutputPreview key={open.path} taskId={task.id} file={open} onClose={() => setPreviewed(null)} />
      )}
    </section>
  );
}
