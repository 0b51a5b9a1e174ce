import { Codes } from '../../platform/errors/catalog.js';
import { RekeyError } from '../../platform/errors/rekey-error.js';
import { BreachedFilter } from './breached-filter.js';

/*
 * Reading a breached-password list in the public SHA-1 format: one `HASH:count` per line, the hash
 * 40 hexadecimal digits in either case, lines ending in `\n` or `\r\n`, blank lines ignored (the
 * Pwned Passwords download has this shape). The parser works on raw bytes, chunk by chunk, and
 * turns hex straight into the filter's digest words: no string per line, no line splitting by the
 * stream, and memory bounded by one chunk plus one partial line, whatever the file's size.
 */

/** Where parsed digests go: the filter, or a counter in tests. */
export interface DigestSink {
  addDigestWords(w0: number, w1: number, w2: number, w3: number, w4: number): void;
}

/** Why a line was refused; `details.problem` of error 7700401. */
export type LineProblem = 'hash' | 'separator' | 'count' | 'tooLong';

export interface HashListOptions {
  /** Entries seen fewer times than this are left out (1 keeps everything). */
  readonly minCount: number;
  /** Count and skip malformed lines instead of stopping at the first. */
  readonly skipInvalid: boolean;
  /** How error messages name the input, e.g. the file's base name. */
  readonly sourceName: string;
}

/** What the parser has seen so far. */
export interface HashListCounts {
  readonly bytes: number;
  readonly lines: number;
  readonly entries: number;
  readonly blankLines: number;
  readonly belowMinCount: number;
  readonly invalidLines: number;
  /** The first few malformed line numbers, for the summary (their content is never shown). */
  readonly firstInvalidLines: readonly number[];
}

/** Longer than any valid line (40 + 1 + 15 digits + CR); a longer one is not this format. */
const maximumLineBytes = 128;
const maximumCountDigits = 15;
const keptInvalidLineNumbers = 10;
const newline = 0x0a;
const carriageReturn = 0x0d;
const colon = 0x3a;

const hexValues = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i += 1) hexValues[0x30 + i] = i;
for (let i = 0; i < 6; i += 1) {
  hexValues[0x41 + i] = 10 + i;
  hexValues[0x61 + i] = 10 + i;
}

function problemText(problem: LineProblem, hexDigits: number): string {
  switch (problem) {
    case 'hash':
      return hexDigits === 32
        ? 'the hash has 32 hexadecimal digits, like the NTLM download; Rekey needs the SHA-1 one (40 digits)'
        : 'it does not start with a SHA-1 hash of 40 hexadecimal digits';
    case 'separator':
      return 'the hash is not followed by a colon and a count';
    case 'count':
      return `the count after the colon is not a whole number of 1 to ${maximumCountDigits} digits`;
    case 'tooLong':
      return `it is longer than ${maximumLineBytes} bytes`;
    default: {
      const unknown: never = problem;
      return String(unknown);
    }
  }
}

/** A push parser for `HASH:count` lines that feeds every accepted digest to `sink`. */
export class HashListParser {
  readonly #sink: DigestSink;
  readonly #options: HashListOptions;
  #pending: Buffer = Buffer.alloc(0);
  #bytes = 0;
  #lines = 0;
  #entries = 0;
  #blankLines = 0;
  #belowMinCount = 0;
  #invalidLines = 0;
  readonly #firstInvalidLines: number[] = [];
  /** Scratch for one line's digest words (a Uint32Array keeps them unsigned, and allocates once). */
  readonly #words = new Uint32Array(5);
  /** Set after an over-long line was counted, until its newline arrives. */
  #skipRestOfLine = false;

  constructor(sink: DigestSink, options: HashListOptions) {
    this.#sink = sink;
    this.#options = options;
  }

  /** The counts so far. */
  get counts(): HashListCounts {
    return {
      bytes: this.#bytes,
      lines: this.#lines,
      entries: this.#entries,
      blankLines: this.#blankLines,
      belowMinCount: this.#belowMinCount,
      invalidLines: this.#invalidLines,
      firstInvalidLines: [...this.#firstInvalidLines],
    };
  }

  /** Parses the complete lines in `chunk` and keeps the partial last one for the next call. */
  push(chunk: Uint8Array): void {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.#bytes += bytes.length;
    let position = 0;
    if (this.#pending.length > 0) {
      const end = bytes.indexOf(newline);
      if (end < 0) {
        this.#hold(Buffer.concat([this.#pending, bytes]));
        return;
      }
      const line = Buffer.concat([this.#pending, bytes.subarray(0, end)]);
      this.#pending = Buffer.alloc(0);
      this.#line(line, 0, line.length);
      position = end + 1;
    }
    for (;;) {
      const end = bytes.indexOf(newline, position);
      if (end < 0) break;
      this.#line(bytes, position, end);
      position = end + 1;
    }
    if (position < bytes.length) this.#hold(Buffer.from(bytes.subarray(position)));
  }

  /** Parses a last line that has no newline and returns the final counts. */
  finish(): HashListCounts {
    if (this.#pending.length > 0) {
      const line = this.#pending;
      this.#pending = Buffer.alloc(0);
      this.#line(line, 0, line.length);
    }
    return this.counts;
  }

  #hold(partial: Buffer): void {
    if (this.#skipRestOfLine) {
      this.#pending = Buffer.alloc(0);
      return;
    }
    if (partial.length > maximumLineBytes) {
      // Counted as one line; the rest of it up to its newline is dropped with it.
      this.#pending = Buffer.alloc(0);
      this.#lines += 1;
      this.#invalid('tooLong', 0);
      this.#skipRestOfLine = true;
      return;
    }
    this.#pending = partial;
  }

  #line(bytes: Buffer, start: number, lineEnd: number): void {
    if (this.#skipRestOfLine) {
      // The tail of an over-long line already counted and reported.
      this.#skipRestOfLine = false;
      return;
    }
    this.#lines += 1;
    let end = lineEnd;
    let from = start;
    if (end > from && bytes[end - 1] === carriageReturn) end -= 1;
    // A byte-order mark, as some Windows tools write, before the first line.
    if (this.#lines === 1 && bytes[from] === 0xef && bytes[from + 1] === 0xbb && bytes[from + 2] === 0xbf) {
      from += 3;
    }
    if (end === from) {
      this.#blankLines += 1;
      return;
    }
    if (end - from > maximumLineBytes) {
      this.#invalid('tooLong', 0);
      return;
    }
    const words = this.#words;
    let hexDigits = 0;
    for (let word = 0; word < 5 && from + hexDigits + 8 <= end; word += 1) {
      let value = 0;
      for (let j = 0; j < 8; j += 1) {
        const digit = hexValues[bytes[from + hexDigits] ?? 0] ?? -1;
        if (digit < 0) break;
        value = (value << 4) | digit;
        hexDigits += 1;
      }
      if (hexDigits !== (word + 1) * 8) break;
      words[word] = value;
    }
    if (hexDigits < 40 || (from + 40 < end && (hexValues[bytes[from + 40] ?? 0] ?? -1) >= 0)) {
      let digits = hexDigits;
      while (from + digits < end && (hexValues[bytes[from + digits] ?? 0] ?? -1) >= 0) digits += 1;
      this.#invalid('hash', digits);
      return;
    }
    if (from + 40 >= end || bytes[from + 40] !== colon) {
      this.#invalid('separator', 40);
      return;
    }
    const countStart = from + 41;
    const countDigits = end - countStart;
    if (countDigits < 1 || countDigits > maximumCountDigits) {
      this.#invalid('count', 40);
      return;
    }
    let count = 0;
    for (let i = countStart; i < end; i += 1) {
      const digit = (bytes[i] ?? 0) - 0x30;
      if (digit < 0 || digit > 9) {
        this.#invalid('count', 40);
        return;
      }
      count = count * 10 + digit;
    }
    if (count < this.#options.minCount) {
      this.#belowMinCount += 1;
      return;
    }
    this.#sink.addDigestWords(words[0] ?? 0, words[1] ?? 0, words[2] ?? 0, words[3] ?? 0, words[4] ?? 0);
    this.#entries += 1;
  }

  #invalid(problem: LineProblem, hexDigits: number): void {
    const line = this.#lines;
    if (!this.#options.skipInvalid) {
      // The line itself is never echoed: a wrong file could be a list of plaintext passwords.
      throw new RekeyError(Codes.InvalidBreachedPasswordList, {
        message: `Line ${line} of ${this.#options.sourceName} is not a \`HASH:count\` entry: ${problemText(problem, hexDigits)}.`,
        details: { line, problem },
      });
    }
    this.#invalidLines += 1;
    if (this.#firstInvalidLines.length < keptInvalidLineNumbers) this.#firstInvalidLines.push(line);
  }
}

/** What an import needs besides its input. */
export interface ImportOptions extends HashListOptions {
  readonly expectedEntries: number;
  readonly targetFalsePositiveRate: number;
  /** Recorded in the filter's header. */
  readonly sourceDescription: string;
  /** Called after each chunk, for progress reports. */
  readonly onProgress?: (counts: HashListCounts) => void;
  /** Also receives every accepted digest: the exact index built beside the filter. */
  readonly alsoInto?: DigestSink;
}

/**
 * Builds an exact-key filter (the corpus hashes passwords as typed) from a stream of `HASH:count`
 * text. Fails with 7700401 on the first malformed line unless `skipInvalid`, and when no line was
 * usable at all, since an empty filter would silently protect nobody.
 */
export async function importHashList(
  input: AsyncIterable<Uint8Array>,
  options: ImportOptions,
): Promise<{ readonly filter: BreachedFilter; readonly counts: HashListCounts }> {
  const filter = BreachedFilter.create({
    expectedEntries: options.expectedEntries,
    targetFalsePositiveRate: options.targetFalsePositiveRate,
    source: options.sourceDescription,
    keyForm: 'exact',
  });
  const extra = options.alsoInto;
  const sink: DigestSink = extra
    ? {
        addDigestWords(w0, w1, w2, w3, w4) {
          filter.addDigestWords(w0, w1, w2, w3, w4);
          extra.addDigestWords(w0, w1, w2, w3, w4);
        },
      }
    : filter;
  const parser = new HashListParser(sink, options);
  for await (const chunk of input) {
    parser.push(chunk);
    options.onProgress?.(parser.counts);
  }
  const counts = parser.finish();
  if (counts.entries === 0) {
    throw new RekeyError(Codes.InvalidBreachedPasswordList, {
      message: `${options.sourceName} holds no usable \`HASH:count\` entry (${counts.lines} lines read${counts.belowMinCount > 0 ? `, ${counts.belowMinCount} below --min-count` : ''}).`,
      details: {
        lines: counts.lines,
        belowMinCount: counts.belowMinCount,
        invalidLines: counts.invalidLines,
      },
    });
  }
  return { filter, counts };
}
