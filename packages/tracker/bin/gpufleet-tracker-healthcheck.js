#!/usr/bin/env node
// The `gpufleet-tracker-healthcheck` command. This launcher exists before the first build, so npm
// links the command at install time; the command itself is built into dist/ (npm run build), and
// until then this says so (exit code 1: unhealthy).
import { existsSync } from 'node:fs';

const built = new URL('../dist/bin/healthcheck.js', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write(
    'gpufleet-tracker-healthcheck: not built yet; run `npm run build` in the gpufleet repository first\n',
  );
  process.exit(1);
}
await import(built.href);
