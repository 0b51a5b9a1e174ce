import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BreachedFilter, sha1Words } from './breached-filter.js';
import { measureFalsePositiveRate } from './false-positive-rate.js';
import { blockBits, blockedFalsePositiveRate, classicBloomParameters, planFilter } from './filter-sizing.js';
import { parseSha1Hex } from './sha1-hex.test-support.js';

function emptyFilter(expectedEntries: number, keyForm: 'exact' | 'lowerCase' = 'exact', rate = 0.001) {
  return BreachedFilter.create({ expectedEntries, targetFalsePositiveRate: rate, source: 'test', keyForm });
}

describe('filter sizing', () => {
  it('starts from the classic formulas m = -n ln p / (ln 2)^2 and k = m/n ln 2', () => {
    const classic = classicBloomParameters(0.001);
    expect(classic.bitsPerEntry).toBeCloseTo(14.3776, 3);
    expect(classic.hashCount).toBe(10);
    expect(classicBloomParameters(0.01).hashCount).toBe(7);
  });

  it('sizes the blocked filter so that its own rate meets the target, at about one bit per entry more', () => {
    for (const [entries, rate] of [
      [1_000, 0.001],
      [49_233, 0.001],
      [100_000_000, 0.001],
      [1_000_000, 0.01],
      [1_000_000, 0.00001],
    ] as const) {
      const plan = planFilter(entries, rate);
      expect(plan.bits % blockBits).toBe(0);
      expect(plan.theoreticalFalsePositiveRate).toBeLessThanOrEqual(rate);
      // The smallest such filter: one block less misses the target.
      const smaller = plan.blocks - 1;
      const bestSmaller = Math.min(
        ...Array.from({ length: 32 }, (_, k) => blockedFalsePositiveRate(entries, smaller, k + 1)),
      );
      expect(bestSmaller).toBeGreaterThan(rate);
    }
    const hundredMillion = planFilter(100_000_000, 0.001);
    expect(hundredMillion.bits / 100_000_000).toBeGreaterThan(classicBloomParameters(0.001).bitsPerEntry);
    expect(hundredMillion.bits / 100_000_000).toBeLessThan(16);
    // Well under 1 GiB for 100M entries at 1 in 1000.
    expect(hundredMillion.bits / 8).toBeLessThan(200 * 1024 ** 2);
    expect(hundredMillion.hashCount).toBe(9);
  });

  it('refuses a filter beyond the 4 GiB limit with a catalog code', () => {
    expect(() => emptyFilter(3_000_000_000, 'exact', 0.001)).toThrow(
      expect.objectContaining({ code: 7700001 }),
    );
  });
});

describe('BreachedFilter', () => {
  it('finds every entry it was given (no false negatives)', () => {
    const filter = emptyFilter(20_000);
    const passwords = Array.from(
      { length: 20_000 },
      (_, i) => `entry-${i}-${randomBytes(4).toString('hex')}`,
    );
    for (const password of passwords) filter.add(password);
    expect(filter.entries).toBe(20_000);
    expect(passwords.filter((password) => !filter.has(password))).toEqual([]);
  });

  it('keys entries by the SHA-1 of the UTF-8 password, so a hash list and a password agree', () => {
    const filter = emptyFilter(10);
    const hex = createHash('sha1').update('password1', 'utf8').digest('hex').toUpperCase();
    expect(hex).toBe('E38AD214943DAAD1D64C102FAEC29DE4AFE9DA3D');
    const words = parseSha1Hex(hex);
    expect(words).toEqual(sha1Words('password1'));
    if (!words) throw new Error('unreachable');
    filter.addDigestWords(...words);
    expect(filter.has('password1')).toBe(true);
    expect(filter.hasDigestWords(...words)).toBe(true);
    expect(filter.has('Password1')).toBe(false);
    expect(parseSha1Hex(hex.toLowerCase())).toEqual(words);
    // UTF-8, not UTF-16: the digest of a non-ASCII password is the one a breach list holds.
    expect(sha1Words('pässwörd')).toEqual(
      parseSha1Hex(createHash('sha1').update(Buffer.from('pässwörd', 'utf8')).digest('hex')),
    );
    expect(parseSha1Hex('E38AD214943DAAD1D64C102FAEC29DE4AFE9DA3')).toBeUndefined();
    expect(parseSha1Hex('G38AD214943DAAD1D64C102FAEC29DE4AFE9DA3D')).toBeUndefined();
  });

  it('lower-cases keys and lookups when its key form says so', () => {
    const filter = emptyFilter(10, 'lowerCase');
    filter.add('Dragon');
    expect(filter.has('dragon')).toBe(true);
    expect(filter.has('DRAGON')).toBe(true);
    const exact = emptyFilter(10, 'exact');
    exact.add('Dragon');
    expect(exact.has('Dragon')).toBe(true);
    expect(exact.has('dragon')).toBe(false);
  });

  it('has a measured false-positive rate within statistical bounds of the theoretical one', () => {
    const entries = 50_000;
    const filter = emptyFilter(entries);
    const digests = randomBytes(entries * 20);
    for (let i = 0; i < entries; i += 1) {
      const at = i * 20;
      filter.addDigestWords(
        digests.readUInt32BE(at),
        digests.readUInt32BE(at + 4),
        digests.readUInt32BE(at + 8),
        digests.readUInt32BE(at + 12),
        digests.readUInt32BE(at + 16),
      );
    }
    const theoretical = filter.theoreticalFalsePositiveRate;
    expect(theoretical).toBeGreaterThan(0.0008);
    expect(theoretical).toBeLessThanOrEqual(0.001);

    const measured = measureFalsePositiveRate(filter, { probes: 200_000 });
    expect(measured.probes).toBe(200_000);
    // Hits are binomial: about 200 expected, standard deviation about 14. Six deviations either
    // side fail by chance about once in a billion runs, but catch a filter that is off by 50%.
    const expected = theoretical * measured.probes;
    const sigma = Math.sqrt(expected * (1 - theoretical));
    expect(measured.falsePositives).toBeGreaterThan(expected - 6 * sigma);
    expect(measured.falsePositives).toBeLessThan(expected + 6 * sigma);
    expect(measured.low).toBeLessThan(measured.rate);
    expect(measured.high).toBeGreaterThan(measured.rate);
  });

  it('answers no for everything while empty', () => {
    const filter = emptyFilter(1_000);
    expect(filter.theoreticalFalsePositiveRate).toBe(0);
    expect(measureFalsePositiveRate(filter, { probes: 10_000 }).falsePositives).toBe(0);
  });

  it('uses double hashing past 12 probes and still has no false negatives', () => {
    const filter = emptyFilter(5_000, 'exact', 0.000001);
    expect(filter.hashCount).toBeGreaterThan(12);
    const passwords = Array.from({ length: 5_000 }, (_, i) => `deep-${i}`);
    for (const password of passwords) filter.add(password);
    expect(passwords.every((password) => filter.has(password))).toBe(true);
    expect(measureFalsePositiveRate(filter, { probes: 50_000 }).falsePositives).toBeLessThan(5);
  });
});
