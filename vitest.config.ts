import { defineConfig } from 'vitest/config';

// Every test file gets its own database cloned from a migrated template (test/helpers/db.ts);
// the PostgreSQL server itself is started once per run in globalSetup.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: more parallel files only make each test slower and flakier.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
