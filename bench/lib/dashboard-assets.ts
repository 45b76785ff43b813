/**
 * The dashboard's first page by bytes (bench/dashboard.ts, issue 21's size figure): every script
 * and stylesheet the built `packages/dashboard/dist/index.html` loads (`<script src>`,
 * `<link rel="stylesheet">`, `<link rel="modulepreload">`), and the chunks those scripts import
 * statically (`import … from "./x.js"`, `import "./x.js"`, `export … from "./x.js"`), followed to
 * the end; chunks only imported dynamically (`import("./x.js")`) load later, if ever, and are
 * listed apart. Each file: raw bytes, gzip (level 9) and brotli (quality 11) by Node's zlib, the
 * compression a server would store precompressed. `servedEncoding` says what the API actually
 * sends for a file when a browser asks for gzip or brotli.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join, normalize, relative } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export interface AssetSize {
  /** The path under dist/, as the page asks for it (`/assets/index-….js`). */
  path: string;
  /** How the first page comes to load it. */
  loadedBy: 'script' | 'stylesheet' | 'modulepreload' | 'static import';
  bytes: number;
  gzip: number;
  brotli: number;
}

export interface FirstPageAssets {
  assets: AssetSize[];
  total: { bytes: number; gzip: number; brotli: number };
  /** Chunks imported only dynamically (not part of the first page), with their raw bytes. */
  lazy: Array<{ path: string; bytes: number }>;
}

const attr = (tag: string, name: string): string | null =>
  new RegExp(`\\s${name}\\s*=\\s*["']([^"']*)["']`, 'i').exec(tag)?.[1] ?? null;

/** The same-origin files index.html loads, in order, with how. */
function htmlAssets(html: string): Array<{ path: string; loadedBy: AssetSize['loadedBy'] }> {
  const found: Array<{ path: string; loadedBy: AssetSize['loadedBy'] }> = [];
  for (const [tag] of html.matchAll(/<(?:script|link)\b[^>]*>/gi)) {
    const isScript = /^<script/i.test(tag);
    const rel = attr(tag, 'rel')?.toLowerCase() ?? '';
    const url = isScript ? attr(tag, 'src') : attr(tag, 'href');
    if (!url || /^(?:data:|https?:|\/\/)/i.test(url)) continue;
    if (isScript) found.push({ path: url, loadedBy: 'script' });
    else if (rel === 'stylesheet') found.push({ path: url, loadedBy: 'stylesheet' });
    else if (rel === 'modulepreload') found.push({ path: url, loadedBy: 'modulepreload' });
  }
  return found;
}

/** Relative specifiers a minified ES module imports statically, and those it imports dynamically. */
export function moduleImports(code: string): { statics: string[]; dynamics: string[] } {
  const statics = [
    ...code.matchAll(
      /(?:^|[;}\s])(?:import|export)\s*(?:[\w*${}\s,]+?\s*from\s*)?["'](\.{1,2}\/[^"']+)["']/g,
    ),
  ].map((m) => m[1] as string);
  const dynamics = [...code.matchAll(/\bimport\(\s*["'`](\.{1,2}\/[^"'`]+)["'`]\s*\)/g)].map(
    (m) => m[1] as string,
  );
  return { statics, dynamics };
}

function sizes(body: Buffer): { bytes: number; gzip: number; brotli: number } {
  return {
    bytes: body.length,
    gzip: gzipSync(body, { level: 9 }).length,
    brotli: brotliCompressSync(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    }).length,
  };
}

/** The first page's assets under `dist` (the dashboard's build folder). */
export function firstPageAssets(dist: string): FirstPageAssets {
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const toPath = (file: string): string => `/${relative(dist, file).split('\\').join('/')}`;
  const assets: AssetSize[] = [];
  const seen = new Set<string>();
  const dynamic = new Set<string>();
  const queue = htmlAssets(html).map((a) => ({ file: join(dist, normalize(a.path)), loadedBy: a.loadedBy }));
  while (queue.length > 0) {
    const { file, loadedBy } = queue.shift() as (typeof queue)[number];
    if (seen.has(file)) continue;
    seen.add(file);
    const body = readFileSync(file);
    assets.push({ path: toPath(file), loadedBy, ...sizes(body) });
    if (!file.endsWith('.js')) continue;
    const { statics, dynamics } = moduleImports(body.toString('utf8'));
    for (const spec of statics) queue.push({ file: join(dirname(file), spec), loadedBy: 'static import' });
    for (const spec of dynamics) dynamic.add(join(dirname(file), spec));
  }
  const lazy = [...dynamic]
    .filter((file) => !seen.has(file))
    .map((file) => ({ path: toPath(file), bytes: readFileSync(file).length }));
  const total = { bytes: 0, gzip: 0, brotli: 0 };
  for (const a of assets) {
    total.bytes += a.bytes;
    total.gzip += a.gzip;
    total.brotli += a.brotli;
  }
  return { assets, total, lazy };
}

/** What the server sends for `path` to a browser that accepts gzip and brotli: its encoding and bytes. */
export function servedEncoding(base: string, path: string): Promise<{ encoding: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, base),
      { headers: { 'accept-encoding': 'gzip, deflate, br' } },
      (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`GET ${path}: HTTP ${res.statusCode}`));
          else resolve({ encoding: String(res.headers['content-encoding'] ?? 'identity'), bytes });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
