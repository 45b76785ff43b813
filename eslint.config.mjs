// Lint rules for every package: typed rules (floating promises), no import cycles, type-only imports,
// and no import of a package that is not declared (import-x/no-extraneous-dependencies, below).
// Only the project's own folders and root files are linted (un-ignored below, as in .prettierignore):
// not whatever else is in the repository's folder, such as a task `gpufleet download` saved as
// ./<id>/ or `npm start`'s .gpufleet/ (packages/local-fleet/test/lint-scope.test.ts checks both).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

const readJson = (path) => JSON.parse(readFileSync(join(import.meta.dirname, path), 'utf8'));
/** The names of the workspace packages (the root's `workspaces`) that are there. */
const workspaceNames = (readJson('package.json').workspaces ?? [])
  .filter((dir) => existsSync(join(import.meta.dirname, dir, 'package.json')))
  .map((dir) => readJson(`${dir}/package.json`).name);

export default tseslint.config(
  {
    ignores: [
      '*',
      '!bench/',
      '!packages/',
      '!scripts/',
      '!eslint.config.mjs',
      '!vitest.config.ts',
      '**/dist/',
      '**/node_modules/',
      '**/.gpufleet/',
      'coverage/',
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', 'packages/dashboard/src/**/*.tsx'],
    languageOptions: {
      parserOptions: { project: ['./tsconfig.test.json'], tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/packages/*/src/**', '../../*/src/**'],
              message: 'Import sibling packages by name.',
            },
          ],
        },
      ],
    },
  },
  // The dashboard's pages run in a browser: typed with its own tsconfig (DOM, Preact's JSX).
  {
    files: ['packages/dashboard/src/**/*.{ts,tsx}'],
    languageOptions: {
      parserOptions: {
        project: ['./packages/dashboard/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  // A package's own code (src/, bin/) imports only what its package.json lists in `dependencies` or
  // `peerDependencies`, so installing the package brings everything it loads, types included
  // (a declaration file that names a package needs it too). Its tests may also use its
  // devDependencies and the root's; the root's own files (bench/, scripts/, configs) use the
  // root's devDependencies and the workspace packages.
  {
    files: ['packages/*/src/**/*.{ts,tsx,js,mjs}', 'packages/*/bin/**/*.{ts,js,mjs}'],
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-extraneous-dependencies': [
        'error',
        { devDependencies: false, optionalDependencies: false, peerDependencies: true, includeTypes: true },
      ],
    },
  },
  {
    files: ['packages/*/test/**/*.{ts,js,mjs}'],
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-extraneous-dependencies': [
        'error',
        { devDependencies: true, packageDir: [import.meta.dirname], includeTypes: true },
      ],
    },
  },
  {
    files: ['bench/**/*.{ts,js,mjs}', 'scripts/**/*.{ts,js,mjs}', '*.{ts,js,mjs}'],
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-extraneous-dependencies': [
        'error',
        { devDependencies: true, includeTypes: true, whitelist: workspaceNames },
      ],
    },
  },
);
