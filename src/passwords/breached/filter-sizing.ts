/**
 * Sizing of the breached-password filter: how many bits and probes a blocked Bloom filter needs
 * for `n` entries at a target false-positive rate `p`, and the rate it will really have.
 *
 * A classic Bloom filter needs m = -n ln p / (ln 2)^2 bits and k = (m / n) ln 2 probes; at
 * p = 0.001 that is 14.4 bits and 10 probes per entry. Rekey's filter is *blocked* (see
 * breached-filter.ts): each entry lands in one 512-bit block, and the number of entries per block
 * varies (Poisson), so the fuller blocks answer "maybe" more often than the classic formula says.
 * The plan therefore starts from the classic m and k, then grows m block by block (and re-picks
 * the best k) until the blocked filter's own rate,
 *
 *   FP = sum over j of Poisson(j; lambda) * (1 - (1 - 1/B)^(k j))^k,  lambda = n B / m,  B = 512,
 *
 * is at or below the target. At p = 0.001 that costs about one bit per entry more than the classic
 * filter (about 15.4 bits, so 100M entries take about 193 MB).
 */

/** Bits in one block: one 64-byte cache line, so a lookup touches one line of memory. */
export const blockBits = 512;

/** The most probes a filter may use. The probe positions come from the digest's own bits. */
export const maximumHashCount = 32;

/**
 * The largest filter Rekey builds or loads: 4 GiB of bits, enough for about 2.2 billion entries at
 * p = 0.001. It keeps the block count within 2^26, where the block-index arithmetic is exact.
 */
export const maximumFilterBytes = 4 * 1024 ** 3;

/** The classic (unblocked) Bloom filter's optimal bits per entry and probe count for `p`. */
export function classicBloomParameters(targetFalsePositiveRate: number): {
  readonly bitsPerEntry: number;
  readonly hashCount: number;
} {
  const bitsPerEntry = -Math.log(targetFalsePositiveRate) / Math.LN2 ** 2;
  return { bitsPerEntry, hashCount: Math.max(1, Math.round(bitsPerEntry * Math.LN2)) };
}

/**
 * The false-positive rate of a blocked Bloom filter with `blocks` blocks of 512 bits holding
 * `entries` entries probed `hashCount` times each, assuming uniform digests (SHA-1 is).
 */
export function blockedFalsePositiveRate(entries: number, blocks: number, hashCount: number): number {
  if (entries <= 0) return 0;
  const lambda = entries / blocks;
  // Sum the Poisson mass over lambda +- 12 standard deviations: what lies outside is below 1e-30.
  const spread = 12 * Math.sqrt(lambda) + 12;
  const first = Math.max(0, Math.floor(lambda - spread));
  const last = Math.ceil(lambda + spread);
  const emptyAfterOne = Math.log1p(-1 / blockBits);
  let logFactorial = 0;
  for (let j = 2; j <= first; j += 1) logFactorial += Math.log(j);
  let rate = 0;
  for (let j = first; j <= last; j += 1) {
    if (j > first) logFactorial += Math.log(j);
    const mass = Math.exp(j * Math.log(lambda) - lambda - logFactorial);
    const bitSet = -Math.expm1(hashCount * j * emptyAfterOne);
    rate += mass * bitSet ** hashCount;
  }
  return rate;
}

/** The probe count that gives the lowest false-positive rate for this many entries per block. */
export function bestHashCount(entries: number, blocks: number): number {
  let best = 1;
  let bestRate = Number.POSITIVE_INFINITY;
  for (let k = 1; k <= maximumHashCount; k += 1) {
    const rate = blockedFalsePositiveRate(entries, blocks, k);
    if (rate < bestRate) {
      best = k;
      bestRate = rate;
    }
  }
  return best;
}

/** The shape of a filter: what `planFilter` decides and the file header records. */
export interface FilterPlan {
  readonly blocks: number;
  /** m: blocks * 512. */
  readonly bits: number;
  /** k: probes per entry. */
  readonly hashCount: number;
  /** The blocked filter's false-positive rate once it holds the expected entries. */
  readonly theoreticalFalsePositiveRate: number;
}

/**
 * The smallest blocked filter whose false-positive rate at `expectedEntries` is at or below
 * `targetFalsePositiveRate`. The caller validates the inputs (entries >= 1, 0 < p < 1).
 */
export function planFilter(expectedEntries: number, targetFalsePositiveRate: number): FilterPlan {
  const entries = Math.max(1, Math.ceil(expectedEntries));
  const classic = classicBloomParameters(targetFalsePositiveRate);
  const fits = (blocks: number) =>
    blockedFalsePositiveRate(entries, blocks, bestHashCount(entries, blocks)) <= targetFalsePositiveRate;
  // The classic size is a lower bound for the blocked filter; double until the target is met,
  // then bisect down to the smallest block count that meets it.
  let low = Math.max(1, Math.floor((entries * classic.bitsPerEntry) / blockBits));
  let high = low;
  while (!fits(high)) {
    low = high;
    high *= 2;
  }
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (fits(middle)) high = middle;
    else low = middle;
  }
  const blocks = fits(low) ? low : high;
  const hashCount = bestHashCount(entries, blocks);
  return {
    blocks,
    bits: blocks * blockBits,
    hashCount,
    theoreticalFalsePositiveRate: blockedFalsePositiveRate(entries, blocks, hashCount),
  };
}
