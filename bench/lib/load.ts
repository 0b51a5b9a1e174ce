import { type LatencySummary, summarize } from './stats.js';

/** One closed-loop load run: `users` virtual users, each repeating `cycle` back to back. */
export interface LoadOptions<Probe> {
  readonly users: number;
  /** Cycles run but are not counted, so connection set-up and JIT warm-up stay out of the figures. */
  readonly warmupMs: number;
  /** The measured window. */
  readonly durationMs: number;
  /**
   * Runs one cycle for virtual user `user` (0-based). Must throw on any unexpected response and pass
   * `signal` to its requests, so that the first failure stops every user promptly.
   */
  readonly cycle: (user: number, signal: AbortSignal) => Promise<void>;
  /**
   * Hard upper bound on the in-flight cycles' drain after the window ends; the run is aborted and
   * fails if a cycle takes longer, so a stuck server cannot hang the benchmark.
   */
  readonly drainTimeoutMs: number;
  /**
   * Called exactly when the measured window opens and when it closes (from a timer, while the
   * users run), e.g. to read CPU counters that must cover the window and nothing else.
   */
  readonly probe: () => Probe;
}

export interface LoadResult<Probe> {
  readonly users: number;
  /** Cycles that completed inside the measured window. */
  readonly cycles: number;
  /** Every cycle that completed, warm-up and drain included (for per-cycle server counters). */
  readonly totalCycles: number;
  readonly windowSeconds: number;
  readonly cyclesPerSecond: number;
  /** Latency of the counted cycles, end to end (all requests of one cycle). */
  readonly latency: LatencySummary;
  /** What `probe` returned when the window opened and when it closed. */
  readonly probeAtStart: Probe;
  readonly probeAtEnd: Probe;
}

/**
 * Runs a bounded closed-loop load: every user loops `cycle` until the window ends, then finishes the
 * cycle it is in (so per-user state such as the current password stays consistent) and stops.
 * Throughput counts the cycles that completed inside the window, divided by the window, as wrk
 * does; latency is taken from the same cycles, measured with performance.now().
 */
export async function runLoad<Probe>(options: LoadOptions<Probe>): Promise<LoadResult<Probe>> {
  const controller = new AbortController();
  let firstError: unknown;
  const started = performance.now();
  const windowStart = started + options.warmupMs;
  const windowEnd = windowStart + options.durationMs;
  const latencies: number[] = [];
  let totalCycles = 0;
  let probeAtStart: Probe | undefined;
  let probeAtEnd: Probe | undefined;
  const startTimer = setTimeout(() => {
    probeAtStart = options.probe();
  }, options.warmupMs);
  const endTimer = setTimeout(() => {
    probeAtEnd = options.probe();
  }, options.warmupMs + options.durationMs);

  const user = async (index: number): Promise<void> => {
    while (performance.now() < windowEnd && !controller.signal.aborted) {
      const begin = performance.now();
      await options.cycle(index, controller.signal);
      const end = performance.now();
      totalCycles += 1;
      if (end >= windowStart && end <= windowEnd) latencies.push(end - begin);
    }
  };
  const users = Array.from({ length: options.users }, (_, index) =>
    user(index).catch((error: unknown) => {
      // Keep the first failure only: the others are mostly the aborts it triggers.
      if (firstError === undefined) firstError = error;
      controller.abort();
    }),
  );
  const hardStop = setTimeout(
    () => {
      if (firstError === undefined) {
        firstError = new Error(`load run did not drain within ${options.drainTimeoutMs} ms after its window`);
      }
      controller.abort();
    },
    options.warmupMs + options.durationMs + options.drainTimeoutMs,
  );
  try {
    await Promise.all(users);
  } finally {
    clearTimeout(hardStop);
    clearTimeout(startTimer);
    clearTimeout(endTimer);
  }
  if (firstError !== undefined) throw firstError;
  // A timer can fire late when the event loop is busy; if the drain ended before it, probe now.
  probeAtStart ??= options.probe();
  probeAtEnd ??= options.probe();
  const windowSeconds = options.durationMs / 1000;
  return {
    users: options.users,
    cycles: latencies.length,
    totalCycles,
    windowSeconds,
    cyclesPerSecond: latencies.length / windowSeconds,
    latency: summarize(latencies),
    probeAtStart,
    probeAtEnd,
  };
}
