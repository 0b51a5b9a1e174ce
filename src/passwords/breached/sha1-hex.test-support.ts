import type { DigestWords } from './breached-filter.js';

/**
 * Reads a 40-digit hex SHA-1 (either case) into digest words; undefined if it is not one. The
 * tests' plain oracle for the import parser, which reads the same digits from raw bytes.
 */
export function parseSha1Hex(hex: string): DigestWords | undefined {
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) return undefined;
  const word = (i: number) => Number.parseInt(hex.slice(i * 8, i * 8 + 8), 16);
  return [word(0), word(1), word(2), word(3), word(4)];
}
