/**
 * The dashboard under `/`: the static files `npm run build` makes in packages/dashboard/dist
 * (index.html and hashed assets), served by @fastify/static from the same origin as the API, so
 * the dashboard needs no CORS and its key stays in the page (it signs in with Authorization
 * headers like any client); GPUFLEET_DASHBOARD_DIR serves another build, or none. Hashed assets
 * are cached for good, index.html never; each is sent brotli- or gzip-compressed as the browser
 * accepts, from the copies the build wrote. Files are looked up as asked, so a rebuild is served
 * at once (index.html and its assets together); a path with no file keeps the API's JSON 404.
 * When the dashboard was not built, `/` says how to build it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** The built dashboard's folder, or null when it was not built. */
export function dashboardRoot(): string | null {
  try {
    const manifest = createRequire(import.meta.url).resolve('@gpufleet/dashboard/package.json');
    const dist = join(dirname(manifest), 'dist');
    return existsSync(join(dist, 'index.html')) ? dist : null;
  } catch {
    return null;
  }
}

/** What the page may load: itself, its own scripts and styles, the API, and previews as blobs. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' blob: data:",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export async function registerDashboard(app: FastifyInstance, root: string | null): Promise<void> {
  if (root === null) {
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send(
          'The dashboard is not built: run `npm run build`. The API is under /v1; its docs are at /docs.\n',
        ),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: true,
    index: ['index.html'],
    // The build writes .br and .gz beside each asset (packages/dashboard/scripts/precompress.mjs).
    preCompressed: true,
    cacheControl: false,
    setHeaders: (res, path) => {
      res.setHeader('x-content-type-options', 'nosniff');
      if (/[/\\]assets[/\\]/.test(path)) {
        res.setHeader('cache-control', 'public, max-age=31536000, immutable');
        return;
      }
      res.setHeader('cache-control', 'no-cache');
      res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
      res.setHeader('referrer-policy', 'no-referrer');
    },
  });
}
