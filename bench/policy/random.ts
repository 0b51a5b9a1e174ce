/**
 * A small seeded PRNG and helpers, so every run of the policy benchmark evaluates the same
 * passwords against the same custom list: figures from two runs then differ by the machine, not
 * by the luck of the draw. Not for anything secret.
 */

/** Returns numbers in [0, 1). */
export type Random = () => number;

/**
 * mulberry32: 32 bits of state, passes the usual statistical batteries well enough for test data,
 * and is a few lines with no dependency.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A whole number from `min` to `max`, both included. */
export function between(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** One element of a non-empty list or string. */
export function pick<T>(random: Random, items: ArrayLike<T>): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new RangeError('pick from an empty list');
  return item;
}

/** True with probability `p`. */
export function chance(random: Random, p: number): boolean {
  return random() < p;
}

/** Fisher-Yates, in place. */
export function shuffle<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    const a = items[i];
    const b = items[j];
    if (a === undefined || b === undefined) continue;
    items[i] = b;
    items[j] = a;
  }
  return items;
}

const onsets = [
  'b',
  'c',
  'd',
  'f',
  'g',
  'h',
  'j',
  'k',
  'l',
  'm',
  'n',
  'p',
  'r',
  's',
  't',
  'v',
  'w',
  'z',
  'br',
  'ch',
  'cl',
  'dr',
  'gr',
  'pl',
  'sh',
  'st',
  'th',
  'tr',
] as const;
const vowels = ['a', 'e', 'i', 'o', 'u', 'a', 'e', 'o', 'ai', 'ea', 'io', 'ou'] as const;
const codas = ['', '', '', 'n', 'r', 's', 'l', 'm', 'x', 'nd', 'rk', 'st'] as const;

/**
 * A pronounceable lower-case word of exactly `length` letters (consonant-vowel syllables, cut to
 * length), like the brand, product and place names a tenant puts on its custom list.
 */
export function pronounceableWord(random: Random, length: number): string {
  let word = '';
  while (word.length < length) word += pick(random, onsets) + pick(random, vowels) + pick(random, codas);
  return word.slice(0, length);
}

/** `word` with its first letter in upper case. */
export function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
