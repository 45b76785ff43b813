#!/usr/bin/env node
// The `gpufleet-slurm` command (see src/bin/gpufleet-slurm.ts); like gpufleet-tracker's launcher,
// it exists before the first build and says so until dist/ is built.
import { existsSync } from 'node:fs';

const built = new URL('../dist/bin/gpufleet-slurm.js', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write(
    'gpufleet-slurm: not built yet; run `npm run build` in the gpufleet repository first\n',
  );
  process.exit(1);
}
await import(built.href);
