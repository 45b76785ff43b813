// Installing @gpufleet/api-client brings what it loads and nothing else: the packages its shipped
// code imports (src/, built into dist/, and the bin/ launcher; type-only imports too, since its
// declaration files name them) are exactly its `dependencies` and `peerDependencies`. A dependency
// it does not use (as @gpufleet/core was, which brought the AWS SDK, ioredis, ajv and pino) fails
// here; one it uses without declaring fails here and in lint (import-x/no-extraneous-dependencies).
import { readdir, readFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE, packageOf, pkg, writtenImports } from './helpers/module-imports.js';

async function shippedFiles(): Promise<string[]> {
  const src = await readdir(join(PACKAGE, 'src'), { recursive: true });
  const bin = await readdir(join(PACKAGE, 'bin'));
  return [
    ...src.filter((f) => f.endsWith('.ts')).map((f) => join('src', f)),
    ...bin.filter((f) => f.endsWith('.js')).map((f) => join('bin', f)),
  ];
}

describe('the package’s dependencies', () => {
  it('are exactly the packages its shipped code imports', async () => {
    const used = new Map<string, string>();
    for (const file of await shippedFiles()) {
      const imports = writtenImports(file, await readFile(join(PACKAGE, file), 'utf8'));
      // (bin/gpufleet.js imports its built command by a computed URL: not a package)
      const named = imports.dynamic.filter((specifier) => !specifier.startsWith('<computed'));
      for (const specifier of [...imports.static, ...named]) {
        const name = isBuiltin(specifier) ? null : packageOf(specifier);
        if (name !== null && name !== pkg.name && !used.has(name)) used.set(name, file);
      }
    }
    const declared = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies });
    expect(Object.fromEntries([...used].sort())).toEqual(
      Object.fromEntries(declared.sort().map((name) => [name, used.get(name) ?? '(not imported)'])),
    );
  });
});
