// The dashboard's build: `vite build` bundles src/ (Preact, uPlot and the client library's browser
// build) into dist/, which the API serves under / (packages/api/src/http/dashboard.ts). Hashed
// file names under dist/assets/ let the API cache them for good; index.html is never cached.
import { defineConfig } from 'vite';

// (.mjs rather than .ts: the lint's import resolver cannot follow Vite's own package from a
// TypeScript config here, and the config needs no types of its own.)

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  // JSX through Preact's automatic runtime (no React).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
});
