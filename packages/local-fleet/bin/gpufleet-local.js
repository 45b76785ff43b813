#!/usr/bin/env node
// The `gpufleet-local` command. This launcher exists before the first build, so npm links the
// command at install time; the command itself is built into dist/ (npm run build), and until then
// this says so (exit code 2).
import { existsSync } from 'node:fs';

const built = new URL('../dist/bin/gpufleet-local.js', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write(
    'gpufleet-local: not built yet; run `npm run build` in the gpufleet repository first\n',
  );
  process.exit(2);
}
await import(built.href);
