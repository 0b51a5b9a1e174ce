/** Latency summary of one load run, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * The `p`-th percentile (0..100) of `sorted`, which must be sorted ascending and non-empty.
 *
 * Uses linear interpolation between the two closest ranks (Hyndman & Fan type 7, the default of
 * numpy and R), so p50 of an even-sized sample is the mean of the middle two and p99 of a small
 * sample does not just snap to the maximum.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of an empty sample');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is not within 0..100`);
  const rank = (p / 100) * (sorted.length - 1);
  const lowerIndex = Math.floor(rank);
  const upperIndex = Math.ceil(rank);
  const lower = sorted[lowerIndex];
  const upper = sorted[upperIndex];
  if (lower === undefined || upper === undefined) throw new RangeError('rank outside the sample');
  return lower + (upper - lower) * (rank - lowerIndex);
}

/** Summarises latency samples (milliseconds); an empty sample gives NaN figures and count 0. */
export function summarize(samplesMs: readonly number[]): LatencySummary {
  if (samplesMs.length === 0) {
    return {
      count: 0,
      meanMs: Number.NaN,
      p50Ms: Number.NaN,
      p90Ms: Number.NaN,
      p99Ms: Number.NaN,
      maxMs: Number.NaN,
    };
  }
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    meanMs: sum / sorted.length,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: percentile(sorted, 100),
  };
}
