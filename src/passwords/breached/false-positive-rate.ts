import { randomBytes } from 'node:crypto';

/** Anything that answers "may this password be breached?": a filter, or the loaded set. */
export interface PasswordProbe {
  has(password: string): boolean;
}

/** The outcome of probing with strings that are certainly not in the set. */
export interface MeasuredFalsePositiveRate {
  readonly probes: number;
  readonly falsePositives: number;
  readonly rate: number;
  /** 95% Wilson score interval of the true rate, given what was measured. */
  readonly low: number;
  readonly high: number;
}

const batchProbes = 4096;
const probeBytes = 32;

/** The Wilson score interval (z = 1.96) for `hits` out of `trials`. */
function wilsonInterval(hits: number, trials: number): { low: number; high: number } {
  const z = 1.96;
  const p = hits / trials;
  const denominator = 1 + (z * z) / trials;
  const centre = p + (z * z) / (2 * trials);
  const margin = z * Math.sqrt((p * (1 - p)) / trials + (z * z) / (4 * trials * trials));
  return {
    low: Math.max(0, (centre - margin) / denominator),
    high: Math.min(1, (centre + margin) / denominator),
  };
}

/**
 * Measures the false-positive rate empirically: asks `set` about `probes` random 64-digit hex
 * strings (32 random bytes each), which no breach list holds, so every "yes" is a false positive.
 * The probes go through `has`, SHA-1 included, exactly as a real lookup does.
 */
export function measureFalsePositiveRate(
  set: PasswordProbe,
  options: { readonly probes?: number } = {},
): MeasuredFalsePositiveRate {
  const probes = Math.max(1, Math.floor(options.probes ?? 200_000));
  let falsePositives = 0;
  for (let done = 0; done < probes; done += batchProbes) {
    const count = Math.min(batchProbes, probes - done);
    const hex = randomBytes(count * probeBytes).toString('hex');
    for (let i = 0; i < count; i += 1) {
      if (set.has(hex.slice(i * probeBytes * 2, (i + 1) * probeBytes * 2))) falsePositives += 1;
    }
  }
  return { probes, falsePositives, rate: falsePositives / probes, ...wilsonInterval(falsePositives, probes) };
}
