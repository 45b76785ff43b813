// The library (`exports["."]`, which a browser dashboard bundles) loads no Node module: through
// its static imports no `node:` module, no bare Node builtin (`fs`) and no other package is
// reachable, and none of its modules uses Node's globals (`process`, `Buffer`). Its Node-only parts
// (inputs read from disk, downloads written to a folder) are reached only by dynamic `import()`,
// and the package's `browser` field maps each of them to nothing, so a bundler leaves them out.
// Each module is compiled with the package's own tsconfig, as `tsc -b` emits it into dist/ (so
// `import type` is gone and no build is needed), and its imports are read with TypeScript's parser
// (helpers/module-imports.ts).
import { isBuiltin } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeOnlyError } from '@gpufleet/api-client';
import { nodeOnly } from '../src/node-only.js';
import {
  builtOfSource,
  emittedImports,
  listed,
  PACKAGE,
  pkg,
  sourceOfBuilt,
  staticGraph,
} from './helpers/module-imports.js';

const entrySource = (name: string): string => {
  const entry = pkg.exports[name];
  if (!entry) throw new Error(`package.json has no exports["${name}"]`);
  // The entry that ships is the one built from the source walked here.
  expect(resolve(PACKAGE, entry.default)).toBe(builtOfSource(entry.source));
  return resolve(PACKAGE, entry.source);
};

describe('the library entry (exports["."])', () => {
  it('reaches no Node module and no other package through its static imports', async () => {
    const graph = await staticGraph(entrySource('.'));
    expect(graph.size).toBeGreaterThan(10);
    expect(listed(graph, (m) => m.static.filter((i) => isBuiltin(i)))).toEqual([]);
    expect(listed(graph, (m) => m.static.filter((i) => !i.startsWith('.') && !isBuiltin(i)))).toEqual([]);
    expect(listed(graph, (m) => m.globals)).toEqual([]);
  });

  it('reaches its Node-only modules only by import(), each mapped to nothing for bundlers', async () => {
    const graph = await staticGraph(entrySource('.'));
    const dynamic = [...graph].flatMap(([file, m]) =>
      m.dynamic.map((i) => resolve(dirname(file), i).replace(/\.js$/, '.ts')),
    );
    const ignored = Object.entries(pkg.browser)
      .filter(([, to]) => to === false)
      .map(([built]) => sourceOfBuilt(built));
    expect(dynamic.length).toBeGreaterThan(0);
    expect([...new Set(dynamic)].sort()).toEqual([...ignored].sort());
    for (const file of ignored) {
      expect(graph.has(file), `${relative(PACKAGE, file)} is loaded with the library`).toBe(false);
      // Node-only indeed (else they belong in the library proper)
      const own = await staticGraph(file);
      expect(listed(own, (m) => m.static.filter((i) => isBuiltin(i))).length).toBeGreaterThan(0);
    }
  });

  it('is told apart from the Node entry, whose helpers read files (exports["./node"])', async () => {
    const graph = await staticGraph(entrySource('./node'));
    expect(listed(graph, (m) => m.static.filter((i) => isBuiltin(i)))).toContain(
      'src/profiles/resolve-connection.ts: node:fs/promises',
    );
  });

  it('sees an import that loads a Node module, and not one of types only', () => {
    const imports = emittedImports(
      'client.ts',
      [
        "import { readFile } from 'node:fs';",
        "import type { Stats } from 'node:fs';",
        "import { type Dirent } from 'fs';",
        "import { x } from './x.js';",
        'export const read = (p: string): Promise<Stats> => readFile(p) && import("node:os");',
        'export const env = process.env; export const b: Dirent | undefined = undefined;',
        'export { x };',
      ].join('\n'),
    );
    expect(imports.static).toEqual(['node:fs', 'fs', './x.js']);
    expect(imports.dynamic).toEqual(['node:os']);
    expect(imports.globals).toEqual(['process']);
  });
});

describe('a Node-only part used where it cannot load', () => {
  it('throws a NodeOnlyError, whether the import fails or a bundler left an empty module', async () => {
    const failed = nodeOnly('task.download()', () => Promise.reject(new TypeError('node:fs')));
    await expect(failed).rejects.toThrow(NodeOnlyError);
    await expect(failed).rejects.toMatchObject({ code: 'NODE_ONLY', cause: new TypeError('node:fs') });
    const emptyModule: { collectInputs?: () => void } = {}; // what a bundler puts in its place
    const empty = nodeOnly('submit with inputs', async () => emptyModule.collectInputs);
    await expect(empty).rejects.toThrow('submit with inputs needs Node');
    const download = (): number => 1;
    await expect(nodeOnly('x', async () => download)).resolves.toBe(download);
  });
});
