import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'scripts/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Fails a test whose requests got a reply its route's response schema does not describe.
    setupFiles: ['test/support/response-contract-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Each file opens its own databases; files run two at a time. Vitest's default is one fewer
    // than the cores, which on CI's two cores ran the files one after another (17 minutes), most
    // of them waiting on a child process, a directory or a browser rather than on the CPU.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
