/**
 * The imports of the package's own modules, read with TypeScript's parser: each module compiled as
 * `tsc -b` emits it into dist/ (the package's tsconfig; `import type` gone), so no build is needed,
 * or its source as written (type-only imports included). Used by browser-entry.test.ts and
 * package-deps.test.ts.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const PACKAGE = fileURLToPath(new URL('../..', import.meta.url));

export interface PackageJson {
  name: string;
  exports: Record<string, { source: string; default: string }>;
  browser: Record<string, string | false>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

export const pkg = JSON.parse(await readFile(join(PACKAGE, 'package.json'), 'utf8')) as PackageJson;

const tsconfig = ts.getParsedCommandLineOfConfigFile(
  join(PACKAGE, 'tsconfig.json'),
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  },
);
if (!tsconfig) throw new Error('cannot read the package tsconfig');
const { rootDir = '', outDir = '' } = tsconfig.options;
// The package is "type": "module", so tsc emits ES modules; transpileModule does not read
// package.json, so it is told.
const emitOptions = {
  ...tsconfig.options,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
};

/** What Node has and a browser has not. */
const NODE_GLOBALS = new Set([
  'process',
  'Buffer',
  'global',
  'require',
  '__dirname',
  '__filename',
  'setImmediate',
]);

export interface ModuleImports {
  /** `import … from`, `import '…'`, `export … from`: loaded with the module. */
  static: string[];
  /** `import('…')`: loaded when that code runs. */
  dynamic: string[];
  /** Node-only globals the module uses. */
  globals: string[];
}

/** The source file a built file (`./dist/inputs/input-files.js`) is emitted from. */
export const sourceOfBuilt = (built: string): string =>
  join(rootDir, relative(outDir, resolve(PACKAGE, built))).replace(/\.js$/, '.ts');

/** The built file (`dist/index.js`) of a source file. */
export const builtOfSource = (source: string): string =>
  join(outDir, relative(rootDir, resolve(PACKAGE, source))).replace(/\.ts$/, '.js');

function collect(file: ts.SourceFile, found: ModuleImports): ModuleImports {
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      found.static.push((node.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [target] = node.arguments;
      found.dynamic.push(
        target && ts.isStringLiteral(target) ? target.text : `<computed: ${target?.getText()}>`,
      );
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      found.static.push((node.argument.literal as ts.StringLiteral).text); // import('x').T in a type
    } else if (ts.isIdentifier(node) && NODE_GLOBALS.has(node.text)) {
      const parent = node.parent;
      const isName =
        (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
        ((ts.isPropertyAssignment(parent) ||
          ts.isMethodDeclaration(parent) ||
          ts.isPropertyDeclaration(parent) ||
          ts.isPropertySignature(parent)) &&
          parent.name === node) ||
        ts.isQualifiedName(parent);
      if (!isName) found.globals.push(node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** The imports of one TypeScript module as compiled to JavaScript (what loads at run time). */
export function emittedImports(fileName: string, source: string): ModuleImports {
  const js = ts.transpileModule(source, { compilerOptions: emitOptions, fileName }).outputText;
  const file = ts.createSourceFile(
    fileName.replace(/\.ts$/, '.js'),
    js,
    ts.ScriptTarget.Latest,
    true,
    ts.ScriptKind.JS,
  );
  return collect(file, { static: [], dynamic: [], globals: [] });
}

/** The imports of a module as written, type-only ones included (what its declarations need too). */
export function writtenImports(fileName: string, source: string): ModuleImports {
  const kind = /\.[cm]?js$/.test(fileName) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, kind);
  return collect(file, { static: [], dynamic: [], globals: [] });
}

/** Every module reachable from `entry` through the static imports of the package's own files. */
export async function staticGraph(entry: string): Promise<Map<string, ModuleImports>> {
  const graph = new Map<string, ModuleImports>();
  const queue = [entry];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (graph.has(file)) continue;
    const imports = emittedImports(file, await readFile(file, 'utf8'));
    graph.set(file, imports);
    for (const target of imports.static) {
      if (target.startsWith('.')) queue.push(resolve(dirname(file), target).replace(/\.js$/, '.ts'));
    }
  }
  return graph;
}

/** `file: import` for each import that `pick` picks out, for a readable failure. */
export function listed(graph: Map<string, ModuleImports>, pick: (m: ModuleImports) => string[]): string[] {
  return [...graph].flatMap(([file, imports]) =>
    pick(imports).map((i) => `${relative(PACKAGE, file)}: ${i}`),
  );
}

/** The package an import names (`@scope/name/sub` → `@scope/name`), or null for a relative one. */
export function packageOf(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('/')) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? null);
}
