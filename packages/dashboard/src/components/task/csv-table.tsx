/**
 * A table output's first rows (load-preview.ts parsed them with Papa Parse) as a table whose
 * header stays in view while it scrolls; columns of numbers are right-aligned to compare by eye.
 * It says whether these are all the rows or the start of a bigger file.
 */
import type { OutputFile } from '@gpufleet/api-client';
import { bytes } from '../../format.js';

const isNumber = (cell: string | undefined): boolean =>
  cell === undefined || cell === '' || (cell.trim() !== '' && !Number.isNaN(Number(cell)));

export function CsvTable({
  header,
  rows,
  more,
  file,
}: {
  header: string[];
  rows: string[][];
  more: boolean;
  file: OutputFile;
}) {
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((row) => isNumber(row[c])));
  const align = (c: number): string | undefined => (numeric[c] ? 'num' : undefined);
  return (
    <>
      <p class="small muted">
        {more
          ? `The first ${rows.length} rows (the file is ${bytes(file.size)}).`
          : `All ${rows.length} rows.`}
      </p>
      <div class="table-scroll" tabIndex={0} role="region" aria-label={`Rows of ${file.path}`}>
        <table class="csv">
          <caption class="sr-only">{file.path}</caption>
          <thead>
            <tr>
              {header.map((name, c) => (
                <th key={c} scope="col" class={align(c)}>
                  {name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, r) => (
              <tr key={r}>
                {row.map((cell, c) => (
                  <td key={c} class={align(c)}>
                    {cell}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
