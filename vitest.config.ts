import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'scripts/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Fails a test whose requests got a reply its route's response schema does not describe.
    setupFiles: ['test/support/response-contract-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Each file opens its own databases; files run in parallel on the two cores.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
