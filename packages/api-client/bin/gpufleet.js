#!/usr/bin/env node
// The `gpufleet` command. This launcher exists before the first build, so npm links the command at
// install time; the command itself is built into dist/ (npm run build).
import { existsSync } from 'node:fs';

const built = new URL('../dist/bin/gpufleet.js', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write('gpufleet: not built yet; run `npm run build` in the gpufleet repository first\n');
  process.exit(2);
}
await import(built.href);
