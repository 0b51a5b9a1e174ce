import { hash } from 'node:crypto';
import { Codes } from '../../platform/errors/catalog.js';
import { RekeyError } from '../../platform/errors/rekey-error.js';
import {
  blockBits,
  blockedFalsePositiveRate,
  type FilterPlan,
  maximumFilterBytes,
  planFilter,
} from './filter-sizing.js';

/*
 * A compact, offline set of known-breached passwords: a *blocked* Bloom filter keyed by the SHA-1
 * of the password's UTF-8 bytes.
 *
 * Why SHA-1: the public breach corpus (Have I Been Pwned's "Pwned Passwords" download) is a list
 * of `SHA1HEX:count` lines, so an import needs no plaintext, and checking a password is one SHA-1.
 * The digest is already uniformly random, so its own bits are the filter's hash functions: no
 * second hash runs.
 *
 * Why blocked: a classic Bloom filter probes k (about 10) random bits spread over the whole array,
 * which for 100M entries is ~190 MB: every probe is a cache miss, ten per lookup and ten per
 * insert. A blocked filter (Putze, Sanders and Singler, "Cache-, Hash- and Space-Efficient Bloom
 * Filters", 2007) sends each entry to one 512-bit block (one 64-byte cache line) and sets its k
 * bits inside it: one cache miss per lookup and per insert, which makes importing 100M lines
 * several times faster. The price is about one extra bit per entry for the same false-positive
 * rate, which filter-sizing.ts accounts for exactly.
 *
 * How the 160-bit digest, read as five big-endian 32-bit words w0..w4, is used:
 *   - w0 picks the block: floor(w0 * blocks / 2^32) ("fast range", no modulo bias worth naming);
 *   - w1..w4 give three 9-bit bit positions each (bits 0-8, 9-17, 18-26), so the first 12 probes
 *     are independent and uniform, exactly the model the sizing formula assumes;
 *   - probes 13 and beyond (only for targets below about 1 in 10,000) use Kirsch-Mitzenmacher
 *     double hashing, g_i = h1 + i * h2, from two further words mixed out of w1..w4.
 * JavaScript has no cheap 64-bit integers, so the arithmetic stays in 32-bit words.
 */

/**
 * How entries were normalised before hashing. `exact`: the password as typed (the HIBP corpus).
 * `lowerCase`: lower-cased first, and lookups lower-case too (the shipped list is lower-case only).
 */
export type FilterKeyForm = 'exact' | 'lowerCase';

/** Facts about a filter that its file header records. */
export interface FilterMetadata {
  readonly targetFalsePositiveRate: number;
  readonly createdAt: Date;
  /** Where the entries came from (package, version, licence, or the imported file's name). */
  readonly source: string;
  readonly keyForm: FilterKeyForm;
}

const wordsPerBlock = blockBits / 32;
/** Probes that take their positions straight from the digest (3 per word of w1..w4). */
const directProbes = 12;

function mix(word: number, multiplier: number): number {
  const product = Math.imul(word ^ (word >>> 16), multiplier);
  return (product ^ (product >>> 15)) >>> 0;
}

/** floor(w0 * blocks / 2^32), exactly: w0 is split in two 16-bit halves so no product passes 2^53. */
function blockIndex(w0: number, blocks: number): number {
  const high = (w0 >>> 16) * blocks;
  const low = (w0 & 0xffff) * blocks;
  return Math.floor((high + Math.floor(low / 65536)) / 65536);
}

/** The five big-endian 32-bit words of a SHA-1 digest. */
export type DigestWords = readonly [number, number, number, number, number];

/** SHA-1 of the UTF-8 bytes of `text`, as five words. */
export function sha1Words(text: string): DigestWords {
  // The one-shot hash skips the Hash object: less than half the cost per lookup.
  const digest = hash('sha1', text, 'buffer');
  return [
    digest.readUInt32BE(0),
    digest.readUInt32BE(4),
    digest.readUInt32BE(8),
    digest.readUInt32BE(12),
    digest.readUInt32BE(16),
  ];
}

/** What building or loading a filter needs to know besides its bits. */
export interface FilterShape {
  readonly blocks: number;
  readonly hashCount: number;
  readonly entries: number;
  readonly metadata: FilterMetadata;
}

/**
 * A blocked Bloom filter of SHA-1 digests. It never forgets an entry (no false negatives) and
 * answers "maybe" for a small, known share of passwords it never saw (false positives).
 */
export class BreachedFilter {
  readonly blocks: number;
  readonly hashCount: number;
  readonly metadata: FilterMetadata;
  /** The bit array, 16 words per block. Exposed for the file codec; do not write to it elsewhere. */
  readonly words: Uint32Array;
  #entries: number;

  /** Wraps an existing bit array (from a file); `words.length` must be `blocks * 16`. */
  constructor(shape: FilterShape, words: Uint32Array) {
    if (words.length !== shape.blocks * wordsPerBlock) {
      throw new Error(`filter of ${shape.blocks} blocks needs ${shape.blocks * wordsPerBlock} words`);
    }
    this.blocks = shape.blocks;
    this.hashCount = shape.hashCount;
    this.metadata = shape.metadata;
    this.words = words;
    this.#entries = shape.entries;
  }

  /**
   * An empty filter sized for `expectedEntries` at `targetFalsePositiveRate` (see
   * filter-sizing.ts). Fails with 7700001 if the filter would pass the 4 GiB limit.
   */
  static create(options: {
    readonly expectedEntries: number;
    readonly targetFalsePositiveRate: number;
    readonly source: string;
    readonly keyForm: FilterKeyForm;
    readonly createdAt?: Date;
  }): BreachedFilter {
    const plan: FilterPlan = planFilter(options.expectedEntries, options.targetFalsePositiveRate);
    if (plan.bits / 8 > maximumFilterBytes) {
      throw new RekeyError(Codes.RequestValidationFailed, {
        message: `A filter for ${options.expectedEntries} entries at a false-positive rate of ${options.targetFalsePositiveRate} would take ${Math.ceil(plan.bits / 8 / 1024 ** 2)} MiB, more than the 4096 MiB Rekey allows.`,
        details: { expectedEntries: options.expectedEntries, bytes: plan.bits / 8 },
      });
    }
    return new BreachedFilter(
      {
        blocks: plan.blocks,
        hashCount: plan.hashCount,
        entries: 0,
        metadata: {
          targetFalsePositiveRate: options.targetFalsePositiveRate,
          createdAt: options.createdAt ?? new Date(),
          source: options.source,
          keyForm: options.keyForm,
        },
      },
      new Uint32Array(plan.blocks * wordsPerBlock),
    );
  }

  /** Entries added so far (an entry added twice counts twice; the HIBP corpus has no duplicates). */
  get entries(): number {
    return this.#entries;
  }

  /** m, the filter's size in bits. */
  get bits(): number {
    return this.blocks * blockBits;
  }

  /** The false-positive rate the filter has now, from its size, probe count and entries. */
  get theoreticalFalsePositiveRate(): number {
    return blockedFalsePositiveRate(this.#entries, this.blocks, this.hashCount);
  }

  /** Adds a digest given as words (the import path: hex parsed straight to words). */
  addDigestWords(w0: number, w1: number, w2: number, w3: number, w4: number): void {
    this.#probe(w0, w1, w2, w3, w4, true);
    this.#entries += 1;
  }

  /** True if the digest may be in the set; false if it certainly is not. */
  hasDigestWords(w0: number, w1: number, w2: number, w3: number, w4: number): boolean {
    return this.#probe(w0, w1, w2, w3, w4, false);
  }

  /** Adds a password (normalised by the filter's key form, then SHA-1). */
  add(password: string): void {
    const [w0, w1, w2, w3, w4] = sha1Words(this.#key(password));
    this.addDigestWords(w0, w1, w2, w3, w4);
  }

  /** True if the password may be breached; false if it is certainly not in the set. */
  has(password: string): boolean {
    const [w0, w1, w2, w3, w4] = sha1Words(this.#key(password));
    return this.hasDigestWords(w0, w1, w2, w3, w4);
  }

  #key(password: string): string {
    return this.metadata.keyForm === 'lowerCase' ? password.toLowerCase() : password;
  }

  /** Sets (when `set`) or tests the entry's k bits; returns whether they were all set before. */
  #probe(w0: number, w1: number, w2: number, w3: number, w4: number, set: boolean): boolean {
    const words = this.words;
    const base = blockIndex(w0 >>> 0, this.blocks) * wordsPerBlock;
    const k = this.hashCount;
    const h1 = k > directProbes ? mix(w1 ^ w3, 0x9e3779b1) : 0;
    const h2 = k > directProbes ? mix(w2 ^ w4, 0x85ebca6b) | 1 : 0;
    let present = true;
    for (let i = 0; i < k; i += 1) {
      let position: number;
      if (i < directProbes) {
        const word = i < 3 ? w1 : i < 6 ? w2 : i < 9 ? w3 : w4;
        position = (word >>> ((i % 3) * 9)) & 0x1ff;
      } else {
        position = ((h1 + Math.imul(i, h2)) >>> 0) >>> 23;
      }
      const index = base + (position >>> 5);
      const mask = 1 << (position & 31);
      const current = words[index] ?? 0;
      if ((current & mask) === 0) {
        if (!set) return false;
        present = false;
        words[index] = current | mask;
      }
    }
    return present;
  }
}
