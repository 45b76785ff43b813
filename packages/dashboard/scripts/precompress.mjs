// After `vite build`: writes a brotli (.br) and a gzip (.gz) copy beside each asset of dist/ that
// compresses well (scripts, styles, HTML, SVG), so the API serves them compressed at no cost per
// request (@fastify/static `preCompressed`, packages/api/src/http/dashboard.ts). Node's zlib does
// the compressing; this only walks the folder.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const DIST = join(import.meta.dirname, '..', 'dist');
const COMPRESSIBLE = /\.(js|css|html|svg|json)$/;

for (const entry of await readdir(DIST, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !COMPRESSIBLE.test(entry.name)) continue;
  const path = join(entry.parentPath, entry.name);
  const body = await readFile(path);
  await writeFile(
    `${path}.br`,
    brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
  );
  await writeFile(`${path}.gz`, gzipSync(body, { level: 9 }));
}
