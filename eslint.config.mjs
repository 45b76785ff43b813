// Lint rules for every package: typed rules (floating promises), no import cycles, type-only imports.
// Only the project's own folders and root files are linted (un-ignored below, as in .prettierignore):
// not whatever else is in the repository's folder, such as a task `gpufleet download` saved as
// ./<id>/ or `npm start`'s .gpufleet/ (packages/local-fleet/test/lint-scope.test.ts checks both).
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

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
    files: ['**/*.ts'],
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
);
