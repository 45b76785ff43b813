// One Vitest run for every package. Tests import sibling packages by name; the `source`
// export condition makes them load `src/` directly, so no build is needed for in-process tests.
// Tests that start trackers as separate processes run the built `dist/` (npm test builds first).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
