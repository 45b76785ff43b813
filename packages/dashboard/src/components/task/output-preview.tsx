/**
 * The preview of one output: an image inline, text in a scrolling block, a table of a CSV's first
 * rows, each saying when it shows only the start of a bigger file. The image's blob URL is revoked
 * when the preview closes or shows another file, and a read still under way is aborted.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { OutputFile } from '@gpufleet/api-client';
import { bytes } from '../../format.js';
import { useSession } from '../../session.js';
import { CsvTable } from './csv-table.js';
import { loadPreview, type Preview } from './load-preview.js';
import { TEXT_MAX_BYTES } from './preview-kind.js';

function Shown({ preview, file }: { preview: Preview; file: OutputFile }) {
  switch (preview.kind) {
    case 'image':
      return <img class="preview-image" src={preview.url} alt={`Output ${file.path}`} />;
    case 'text':
      return (
        <>
          {preview.cut && (
            <p class="small muted">
              The first {bytes(TEXT_MAX_BYTES)} of {bytes(file.size)}: download it for the rest.
            </p>
          )}
          <pre class="preview-text" tabIndex={0}>
            {preview.text}
          </pre>
        </>
      );
    case 'table':
      return <CsvTable header={preview.header} rows={preview.rows} more={preview.more} file={file} />;
    case 'too-big':
      return (
        <p class="muted">
          {file.path} is {bytes(file.size)}: too big to preview here (at most {bytes(preview.limit)}).
          Download it.
        </p>
      );
    case 'none':
      return <p class="muted">No preview for this kind of file. Download it.</p>;
  }
}

export function OutputPreview({
  taskId,
  file,
  onClose,
}: {
  taskId: string;
  file: OutputFile;
  onClose: () => void;
}) {
  const { client } = useSession();
  const [preview, setPreview] = useState<Preview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    heading.current?.focus();
    const abort = new AbortController();
    let url: string | null = null;
    setPreview(null);
    setError(null);
    loadPreview(client, taskId, file, abort.signal).then(
      (loaded) => {
        if (loaded.kind === 'image') url = loaded.url;
        if (abort.signal.aborted) return;
        setPreview(loaded);
      },
      (caught: unknown) => {
        if (!abort.signal.aborted) setError(caught instanceof Error ? caught.message : String(caught));
      },
    );
    return () => {
      abort.abort();
      if (url !== null) URL.revokeObjectURL(url);
    };
  }, [client, taskId, file]);

  return (
    <section class="preview" aria-labelledby="preview-title" data-preview={file.path}>
      <header class="panel-head">
        <h3 id="preview-title" ref={heading} tabIndex={-1}>
          <span class="mono">{file.path}</span>
        </h3>
        <span class="muted small">{bytes(file.size)}</span>
        <button type="button" class="link close" onClick={onClose}>
          Close preview
        </button>
      </header>
      {error && (
        <p class="error" role="alert">
          Could not read {file.path}: {error}
        </p>
      )}
      {!error && preview === null && <p class="loading">Loading…</p>}
      {preview && <Shown preview={preview} file={file} />}
    </section>
  );
}
