/**
 * A small, fast, seedable pseudo-random generator for synthetic data. Not for secrets: the point
 * is that the same seed gives the same rows on every machine, which `crypto` cannot do.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's Small Fast Chaotic PRNG, 128-bit state), seeded
 * from the seed text through cyrb128; it passes PractRand to terabytes and costs a few integer
 * operations per draw, which matters when ten million rows each draw a dozen numbers.
 */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string) {
    [this.a, this.b, this.c, this.d] = cyrb128(seed);
    // The first outputs still carry the seed's structure; discarding a few mixes it away.
    for (let i = 0; i < 15; i += 1) this.uint32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** A whole number in [0, bound). */
  below(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  /** One element of `items`, uniformly. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.below(items.length)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }

  /** A standard normal draw (Box-Muller). */
  gaussian(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A random version-4 GUID in the lower-case 8-4-4-4-12 form Graph uses. */
  guid(): string {
    const w0 = this.uint32();
    const w1 = this.uint32();
    const w2 = this.uint32();
    const w3 = this.uint32();
    return (
      hex8(w0) +
      '-' +
      hex4(w1 >>> 16) +
      '-4' +
      hex4(w1 & 0xffff).slice(1) +
      '-' +
      hex4(((w2 >>> 16) & 0x3fff) | 0x8000) +
      '-' +
      hex4(w2 & 0xffff) +
      hex8(w3)
    );
  }
}

/** Hex of each byte value, so formatting a GUID is table look-ups rather than toString(16) calls. */
const byteHex: readonly string[] = Array.from({ length: 256 }, (_, value) =>
  value.toString(16).padStart(2, '0'),
);

function byte(value: number): string {
  return byteHex[value & 0xff] ?? '00';
}

/** Four hex digits of the low 16 bits. */
export function hex4(value: number): string {
  return byte(value >>> 8) + byte(value);
}

/** Eight hex digits of a 32-bit value. */
export function hex8(value: number): string {
  return byte(value >>> 24) + byte(value >>> 16) + byte(value >>> 8) + byte(value);
}

/** cyrb128: a 128-bit hash of a string, used only to seed {@link SeededRandom}. */
function cyrb128(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i += 1) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/**
 * Picks indexes in proportion to fixed weights in O(log n) per draw (binary search over the
 * cumulative weights), for choosing among thousands of users of unequal activity.
 */
export class WeightedPicker {
  private readonly cumulative: Float64Array;
  private readonly total: number;

  constructor(weights: readonly number[]) {
    this.cumulative = new Float64Array(weights.length);
    let sum = 0;
    weights.forEach((weight, index) => {
      sum += weight;
      this.cumulative[index] = sum;
    });
    if (!(sum > 0)) throw new RangeError('weights must add up to more than zero');
    this.total = sum;
  }

  /** An index, with probability proportional to its weight. */
  pick(random: SeededRandom): number {
    const target = random.next() * this.total;
    let low = 0;
    let high = this.cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.cumulative[middle] ?? 0) > target) high = middle;
      else low = middle + 1;
    }
    return low;
  }
}

/**
 * A version-7 UUID (RFC 9562) whose timestamp is `msecs`, as the product's log ids are: 48 bits
 * of Unix milliseconds, then 12 bits of `sequence` (a counter within the millisecond, so ids made
 * in time order also sort in that order, as RFC 9562 §6.2 method 1 does), then 62 random bits.
 */
export function timeOrderedId(msecs: number, sequence: number, random: SeededRandom): string {
  const high = Math.floor(msecs / 0x10000);
  const low = msecs % 0x10000;
  const tail = random.uint32();
  return (
    hex8(high) +
    '-' +
    hex4(low) +
    '-7' +
    hex4(sequence & 0xfff).slice(1) +
    '-' +
    hex4(((tail >>> 16) & 0x3fff) | 0x8000) +
    '-' +
    hex4(tail) +
    hex8(random.uint32())
  );
}
