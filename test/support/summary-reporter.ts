import type { Reporter, TestModule } from 'vitest/node';

/** How many of the slowest files the summary names. */
const slowestShown = 12;

/**
 * Ends the run with one plain line, `tests: N passed, N failed, N skipped`, that any CI can read
 * without knowing vitest's own summary format, after the slowest files with their durations (what
 * to look at first when the suite grows too slow for CI's budget).
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failedHere += 1;
        else skipped += 1;
      }
      // A file that failed outside its tests (it did not load, or a beforeAll hook threw and its
      // tests were skipped) is a failure all the same: counted once.
      failed += module.state() === 'failed' && failedHere === 0 ? 1 : failedHere;
    }
    const slowest = [...testModules]
      .map((module) => ({ file: module.relativeModuleId, seconds: module.diagnostic().duration / 1000 }))
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, slowestShown);
    process.stdout.write('\nslowest files (tests and hooks, seconds):\n');
    for (const { file, seconds } of slowest)
      process.stdout.write(`${seconds.toFixed(1).padStart(8)}  ${file}\n`);
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
