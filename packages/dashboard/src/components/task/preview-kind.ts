/**
 * Which outputs the page can show, by file name, and how much of them it reads: images whole up to
 * IMAGE_MAX_BYTES (no SVG: a picture that could run script), text its first TEXT_MAX_BYTES, tables
 * (CSV, TSV) their first TABLE_MAX_ROWS rows from at most TABLE_MAX_BYTES.
 */
export type PreviewKind = 'image' | 'text' | 'table';

export const IMAGE_MAX_BYTES = 16 * 1024 * 1024;
export const TEXT_MAX_BYTES = 256 * 1024;
export const TABLE_MAX_BYTES = 1024 * 1024;
export const TABLE_MAX_ROWS = 200;

const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
};

const TEXT = new Set(
  'txt log out err json jsonl ndjson md markdown yaml yml toml ini cfg conf xml html css js ts py sh r jl m c h cpp cu tex rst sql env'.split(
    ' ',
  ),
);

const TABLE = new Set(['csv', 'tsv']);

const extension = (path: string): string => {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
};

export function previewKind(path: string): PreviewKind | null {
  const ext = extension(path);
  if (ext in IMAGE_TYPES) return 'image';
  if (TABLE.has(ext)) return 'table';
  if (TEXT.has(ext)) return 'text';
  return null;
}

/** The media type an image output is shown as (the API sends every output as an attachment). */
export const imageType = (path: string): string => IMAGE_TYPES[extension(path)] ?? 'application/octet-stream';
