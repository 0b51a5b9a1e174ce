import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isRekeyError } from '../../platform/errors/rekey-error.js';
import { type DigestSink, type HashListOptions, HashListParser, importHashList } from './hash-list-import.js';
import { parseSha1Hex } from './sha1-hex.test-support.js';

const sha1 = (text: string) => createHash('sha1').update(text, 'utf8').digest('hex').toUpperCase();

/** Collects digests as hex, so tests can compare what the parser accepted. */
function collector(): DigestSink & { readonly hashes: string[] } {
  const hashes: string[] = [];
  return {
    hashes,
    addDigestWords: (...words: number[]) =>
      hashes.push(
        words
          .map((word) => word.toString(16).padStart(8, '0'))
          .join('')
          .toUpperCase(),
      ),
  };
}

const options: HashListOptions = { minCount: 1, skipInvalid: false, sourceName: 'list.txt' };

function parse(text: string | Buffer, overrides: Partial<HashListOptions> = {}, chunkSize?: number) {
  const sink = collector();
  const parser = new HashListParser(sink, { ...options, ...overrides });
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const size = chunkSize ?? bytes.length;
  for (let at = 0; at < bytes.length; at += size) parser.push(bytes.subarray(at, at + size));
  return { counts: parser.finish(), hashes: sink.hashes };
}

function failure(action: () => unknown): { code: number; message: string; details: unknown } {
  try {
    action();
  } catch (error) {
    if (!isRekeyError(error)) throw error;
    return { code: error.code, message: error.message, details: error.details };
  }
  throw new Error('expected a failure');
}

describe('HashListParser', () => {
  const a = sha1('password1');
  const b = sha1('letmein').toLowerCase();
  const c = sha1('dragon');

  it('reads LF and CRLF lines in either case, ignores blank lines and a byte-order mark', () => {
    const text = `\uFEFF${a}:100\r\n\r\n${b}:7\n\n${c}:1`;
    const { counts, hashes } = parse(text);
    expect(hashes).toEqual([a, b.toUpperCase(), c]);
    expect(counts).toMatchObject({ lines: 5, entries: 3, blankLines: 2, invalidLines: 0, belowMinCount: 0 });
    expect(counts.bytes).toBe(Buffer.byteLength(text));
  });

  it('gives the same result however the input is cut into chunks', () => {
    const text = `${a}:100\r\n${b}:7\r\n${c}:12345\r\n`;
    const whole = parse(text);
    for (const size of [1, 2, 7, 41, 43, 50]) expect(parse(text, {}, size)).toEqual(whole);
  });

  it('stops at a malformed line with its number and a catalog code, never echoing the line', () => {
    const text = `${a}:1\r\n${b}:2\r\nhunter2\r\n${c}:3\r\n`;
    const result = failure(() => parse(text));
    expect(result.code).toBe(7700401);
    expect(result.details).toEqual({ line: 3, problem: 'hash' });
    expect(result.message).toBe(
      'Line 3 of list.txt is not a `HASH:count` entry: it does not start with a SHA-1 hash of 40 hexadecimal digits.',
    );
    expect(result.message).not.toContain('hunter2');
  });

  it('names each kind of malformed line', () => {
    const cases: [string, string, string][] = [
      [`${a}`, 'separator', 'not followed by a colon'],
      [`${a};5`, 'separator', 'not followed by a colon'],
      [`${a}:`, 'count', 'not a whole number'],
      [`${a}:12x`, 'count', 'not a whole number'],
      [`${a}:-1`, 'count', 'not a whole number'],
      [`${a}:1234567890123456`, 'count', 'not a whole number'],
      [`${a}0:5`, 'hash', '40 hexadecimal digits'],
      [`${a.slice(0, 39)}:5`, 'hash', '40 hexadecimal digits'],
      ['8846F7EAEE8FB117AD06BDD830B7586C:5', 'hash', 'like the NTLM download'],
      [` ${a}:5`, 'hash', '40 hexadecimal digits'],
      ['x'.repeat(300), 'tooLong', 'longer than 128 bytes'],
    ];
    for (const [line, problem, text] of cases) {
      const result = failure(() => parse(`${c}:1\n${line}\n`));
      expect(result.details, line).toEqual({ line: 2, problem });
      expect(result.message, line).toContain(text);
    }
  });

  it('counts and skips malformed lines with skipInvalid, keeping the first line numbers', () => {
    const lines = [`${a}:1`, 'garbage', `${b}:2`, `${c}:x`, 'y'.repeat(1000), `${sha1('x')}:9`];
    const { counts, hashes } = parse(`${lines.join('\r\n')}\r\n`, { skipInvalid: true }, 64);
    expect(hashes).toEqual([a, b.toUpperCase(), sha1('x')]);
    expect(counts).toMatchObject({ lines: 6, entries: 3, invalidLines: 3, firstInvalidLines: [2, 4, 5] });
  });

  it('leaves out entries seen fewer than minCount times', () => {
    const { counts, hashes } = parse(`${a}:100\n${b}:9\n${c}:10\n`, { minCount: 10 });
    expect(hashes).toEqual([a, c]);
    expect(counts).toMatchObject({ entries: 2, belowMinCount: 1 });
  });
});

describe('importHashList', () => {
  async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
    for (const part of parts) yield Buffer.from(part);
  }

  it('builds an exact-key filter in which every imported password is found', async () => {
    const passwords = Array.from({ length: 2_000 }, (_, i) => `Imported-${i}`);
    const text = passwords.map((password, i) => `${sha1(password)}:${i + 1}\r\n`).join('');
    const progress: number[] = [];
    const { filter, counts } = await importHashList(chunks(text.slice(0, 5_000), text.slice(5_000)), {
      ...options,
      expectedEntries: 2_000,
      targetFalsePositiveRate: 0.001,
      sourceDescription: 'unit test',
      onProgress: (current) => progress.push(current.bytes),
    });
    expect(counts.entries).toBe(2_000);
    expect(progress).toEqual([5_000, text.length]);
    expect(filter.metadata.keyForm).toBe('exact');
    expect(filter.metadata.source).toBe('unit test');
    expect(passwords.every((password) => filter.has(password))).toBe(true);
    expect(filter.has('imported-1')).toBe(false);
    const words = parseSha1Hex(sha1('Imported-7'));
    expect(words && filter.hasDigestWords(...words)).toBe(true);
  });

  it('refuses a list with no usable entry', async () => {
    const error = await importHashList(chunks('\r\n\r\n'), {
      ...options,
      expectedEntries: 10,
      targetFalsePositiveRate: 0.001,
      sourceDescription: 'empty',
    }).catch((reason: unknown) => reason);
    expect(isRekeyError(error) && error.code).toBe(7700401);
    expect(error instanceof Error && error.message).toContain('holds no usable');
  });
});
