import type { PolicyEvaluation } from '../../src/passwords/policy/index.js';
import { type CpuInterference, cpuSnapshot, interference } from '../lib/cpu-accounting.js';
import { percentile } from '../lib/stats.js';
import type { MicrosecondSummary } from './report.js';

/** Samples of one row, and what the evaluations said. */
export interface TimedRun {
  readonly samplesUs: Float64Array;
  readonly validCount: number;
  readonly failuresByRule: Record<string, number>;
  readonly scoreSum: number;
  readonly interference: CpuInterference | undefined;
}

/** Summarises microsecond samples (type-7 percentiles, as bench/lib/stats.ts). */
export function summarizeMicroseconds(samplesUs: Float64Array): MicrosecondSummary {
  if (samplesUs.length === 0) throw new RangeError('no samples to summarise');
  // A typed array sorts numerically; percentile() wants a plain array.
  const sorted = Array.from(Float64Array.from(samplesUs).sort());
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  return {
    count: sorted.length,
    meanUs: mean,
    p50Us: percentile(sorted, 50),
    p90Us: percentile(sorted, 90),
    p99Us: percentile(sorted, 99),
    p999Us: percentile(sorted, 99.9),
    maxUs: percentile(sorted, 100),
    perSecond: 1e6 / mean,
  };
}

/** Adds one evaluation's verdict to the running tally; outside the timed region. */
function tally(
  run: { validCount: number; scoreSum: number; failuresByRule: Record<string, number> },
  result: PolicyEvaluation,
): void {
  if (result.valid) run.validCount += 1;
  run.scoreSum += result.passwordProtection.score;
  for (const failure of result.failures) {
    run.failuresByRule[failure.rule] = (run.failuresByRule[failure.rule] ?? 0) + 1;
  }
}

/**
 * Evaluates `inputs[0 .. warmup)` untimed (JIT, caches), then times each of the rest on its own
 * with `process.hrtime.bigint()` around the call and nothing else. The verdicts are tallied after
 * the second timer read, so the tally's cost is not in the samples.
 */
export function timeSync<Input>(
  inputs: readonly Input[],
  warmup: number,
  evaluate: (input: Input) => PolicyEvaluation,
): TimedRun {
  for (let i = 0; i < warmup; i += 1) {
    const input = inputs[i];
    if (input !== undefined) evaluate(input);
  }
  const samplesUs = new Float64Array(inputs.length - warmup);
  const run = { validCount: 0, scoreSum: 0, failuresByRule: {} as Record<string, number> };
  const before = cpuSnapshot();
  for (let i = warmup; i < inputs.length; i += 1) {
    const input = inputs[i];
    if (input === undefined) continue;
    const start = process.hrtime.bigint();
    const result = evaluate(input);
    const end = process.hrtime.bigint();
    samplesUs[i - warmup] = Number(end - start) / 1000;
    tally(run, result);
  }
  const after = cpuSnapshot();
  return { samplesUs, ...run, interference: before && after ? interference(before, after) : undefined };
}

/** The same for the async `evaluate`: each call is awaited before the next starts. */
export async function timeAsync<Input>(
  inputs: readonly Input[],
  warmup: number,
  evaluate: (input: Input) => Promise<PolicyEvaluation>,
): Promise<TimedRun> {
  for (let i = 0; i < warmup; i += 1) {
    const input = inputs[i];
    if (input !== undefined) await evaluate(input);
  }
  const samplesUs = new Float64Array(inputs.length - warmup);
  const run = { validCount: 0, scoreSum: 0, failuresByRule: {} as Record<string, number> };
  const before = cpuSnapshot();
  for (let i = warmup; i < inputs.length; i += 1) {
    const input = inputs[i];
    if (input === undefined) continue;
    const start = process.hrtime.bigint();
    const result = await evaluate(input);
    const end = process.hrtime.bigint();
    samplesUs[i - warmup] = Number(end - start) / 1000;
    tally(run, result);
  }
  const after = cpuSnapshot();
  return { samplesUs, ...run, interference: before && after ? interference(before, after) : undefined };
}

/** Median cost of an empty timed region: two hrtime reads and the subtraction, in nanoseconds. */
export function timerOverheadNs(rounds = 100_000): number {
  const samples = new Float64Array(rounds);
  for (let i = 0; i < rounds; i += 1) {
    const start = process.hrtime.bigint();
    const end = process.hrtime.bigint();
    samples[i] = Number(end - start);
  }
  return percentile(Array.from(samples.sort()), 50);
}

/** Milliseconds `action` takes, once. */
export function timeMs(action: () => void): number {
  const start = process.hrtime.bigint();
  action();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Median microseconds per call of `action` over `rounds` calls timed in batches of `batch`. */
export function medianCallUs(action: () => void, rounds: number, batch: number): number {
  const samples: number[] = [];
  for (let r = 0; r < rounds; r += 1) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i += 1) action();
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / batch);
  }
  return percentile(
    samples.sort((a, b) => a - b),
    50,
  );
}
