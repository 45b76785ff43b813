/**
 * Reads an output for its preview through the client (`client.openOutput`: an authenticated fetch,
 * a Range for the first bytes of a big file): an image as a blob URL (the caller revokes it), text
 * decoded (JSON pretty-printed when whole), a table parsed with Papa Parse (quotes, embedded
 * commas and line breaks as CSV has them; the delimiter guessed, so TSV too). A file too big to
 * show whole is cut, and the preview says so.
 */
import Papa from 'papaparse';
import type { GpufleetClient, OutputFile } from '@gpufleet/api-client';
import {
  IMAGE_MAX_BYTES,
  imageType,
  previewKind,
  TABLE_MAX_BYTES,
  TABLE_MAX_ROWS,
  TEXT_MAX_BYTES,
} from './preview-kind.js';

export type Preview =
  | { kind: 'image'; url: string }
  | { kind: 'text'; text: string; cut: boolean }
  | { kind: 'table'; header: string[]; rows: string[][]; more: boolean }
  | { kind: 'too-big'; limit: number }
  | { kind: 'none' };

/** The first `limit` bytes of the file (all of it when smaller). */
async function readStart(
  client: GpufleetClient,
  taskId: string,
  file: OutputFile,
  limit: number,
  signal: AbortSignal,
): Promise<{ bytes: ArrayBuffer; cut: boolean }> {
  const cut = file.size > limit;
  const response = await client.openOutput(taskId, file.path, {
    range: cut ? `bytes=0-${limit - 1}` : undefined,
    signal,
  });
  const bytes = await response.arrayBuffer();
  return { bytes: bytes.byteLength > limit ? bytes.slice(0, limit) : bytes, cut };
}

const decode = (bytes: ArrayBuffer): string => new TextDecoder('utf-8').decode(bytes);

function parseTable(text: string, cut: boolean): Preview {
  // A cut file ends inside a row: parse up to its last line end.
  const whole = cut ? text.slice(0, text.lastIndexOf('\n') + 1) : text;
  const parsed = Papa.parse<string[]>(whole, { preview: TABLE_MAX_ROWS + 2, skipEmptyLines: true });
  const [header = [], ...rows] = parsed.data;
  return {
    kind: 'table',
    header,
    rows: rows.slice(0, TABLE_MAX_ROWS),
    more: cut || rows.length > TABLE_MAX_ROWS,
  };
}

function prettyText(path: string, text: string, cut: boolean): Preview {
  if (!cut && /\.json$/i.test(path)) {
    try {
      return { kind: 'text', text: JSON.stringify(JSON.parse(text), null, 2), cut };
    } catch {
      // Not valid JSON: shown as it is.
    }
  }
  return { kind: 'text', text, cut };
}

export async function loadPreview(
  client: GpufleetClient,
  taskId: string,
  file: OutputFile,
  signal: AbortSignal,
): Promise<Preview> {
  switch (previewKind(file.path)) {
    case 'image': {
      if (file.size > IMAGE_MAX_BYTES) return { kind: 'too-big', limit: IMAGE_MAX_BYTES };
      const response = await client.openOutput(taskId, file.path, { signal });
      const blob = new Blob([await response.arrayBuffer()], { type: imageType(file.path) });
      if (signal.aborted) throw signal.reason;
      return { kind: 'image', url: URL.createObjectURL(blob) };
    }
    case 'text': {
      const { bytes, cut } = await readStart(client, taskId, file, TEXT_MAX_BYTES, signal);
      return prettyText(file.path, decode(bytes), cut);
    }
    case 'table': {
      const { bytes, cut } = await readStart(client, taskId, file, TABLE_MAX_BYTES, signal);
      return parseTable(decode(bytes), cut);
    }
    default:
      return { kind: 'none' };
  }
}
