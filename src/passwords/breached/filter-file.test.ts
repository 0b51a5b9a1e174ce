import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRekeyError } from '../../platform/errors/rekey-error.js';
import { BreachedFilter } from './breached-filter.js';
import { readFilterFile, writeFilterFile } from './filter-file.js';

describe('filter files', () => {
  let directory: string;
  let file: string;
  let original: BreachedFilter;
  const passwords = Array.from({ length: 3_000 }, (_, i) => `file-entry-${i}`);

  beforeAll(async () => {
    directory = mkdtempSync(path.join(tmpdir(), 'rekey-rkbf-'));
    file = path.join(directory, 'nested', 'set.rkbf');
    original = BreachedFilter.create({
      expectedEntries: passwords.length,
      targetFalsePositiveRate: 0.001,
      source: 'test list ünïcode',
      keyForm: 'lowerCase',
      createdAt: new Date('2026-01-02T03:04:05.678Z'),
    });
    for (const password of passwords) original.add(password);
    await writeFilterFile(original, file);
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  /** A copy of the saved file with `change` applied, for the damage cases. */
  function damaged(name: string, change: (bytes: Buffer) => Buffer): string {
    const target = path.join(directory, name);
    writeFileSync(target, change(Buffer.from(readFileSync(file))));
    return target;
  }

  async function problemOf(target: string): Promise<{ code: number; problem: unknown; message: string }> {
    const error: unknown = await readFilterFile(target).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    if (!isRekeyError(error)) throw new Error(`expected a RekeyError, got ${String(error)}`);
    return { code: error.code, problem: error.details?.['problem'], message: error.message };
  }

  it('round-trips: header, bits and every entry survive save and load', async () => {
    const loaded = await readFilterFile(file);
    const { filter, header } = loaded;
    expect(header.version).toBe(1);
    expect(header.headerBytes % 64).toBe(0);
    expect(filter.entries).toBe(passwords.length);
    expect(filter.bits).toBe(original.bits);
    expect(filter.hashCount).toBe(original.hashCount);
    expect(filter.metadata).toEqual({
      targetFalsePositiveRate: 0.001,
      createdAt: new Date('2026-01-02T03:04:05.678Z'),
      source: 'test list ünïcode',
      keyForm: 'lowerCase',
    });
    expect(filter.words).toEqual(original.words);
    expect(passwords.every((password) => filter.has(password.toUpperCase()))).toBe(true);
    expect(loaded.fileBytes).toBe(statSync(file).size);
    expect(loaded.fileBytes).toBe(header.headerBytes + original.bits / 8 + 32);
  });

  it('leaves no temporary file behind and replaces an existing file whole', async () => {
    await writeFilterFile(original, file);
    expect(readdirSync(path.dirname(file))).toEqual(['set.rkbf']);
  });

  it('rejects a file of another kind', async () => {
    const foreign = path.join(directory, 'foreign.rkbf');
    writeFileSync(foreign, 'E38AD214943DAAD1D64C102FAEC29DE4AFE9DA3D:1\n');
    expect(await problemOf(foreign)).toMatchObject({ code: 7700402, problem: 'notAFilter' });
    const empty = path.join(directory, 'empty.rkbf');
    writeFileSync(empty, '');
    expect(await problemOf(empty)).toMatchObject({ code: 7700402, problem: 'notAFilter' });
    const magic = damaged('magic.rkbf', (bytes) => {
      bytes[1] = 0x58;
      return bytes;
    });
    const result = await problemOf(magic);
    expect(result).toMatchObject({ code: 7700402, problem: 'notAFilter' });
    expect(result.message).toContain('not a Rekey breached-password filter');
  });

  it('rejects a newer format version', async () => {
    const newer = damaged('newer.rkbf', (bytes) => {
      bytes.writeUInt16LE(2, 8);
      return bytes;
    });
    const result = await problemOf(newer);
    expect(result).toMatchObject({ code: 7700402, problem: 'unsupportedVersion' });
    expect(result.message).toContain('format version 2');
  });

  it('rejects a truncated file, whether cut in the header or in the bits', async () => {
    expect(
      await problemOf(damaged('cut-body.rkbf', (bytes) => bytes.subarray(0, bytes.length - 100))),
    ).toMatchObject({ code: 7700402, problem: 'truncated' });
    expect(await problemOf(damaged('cut-header.rkbf', (bytes) => bytes.subarray(0, 30)))).toMatchObject({
      code: 7700402,
      problem: 'truncated',
    });
    expect(
      await problemOf(damaged('longer.rkbf', (bytes) => Buffer.concat([bytes, Buffer.from('extra')]))),
    ).toMatchObject({ code: 7700402, problem: 'trailingBytes' });
  });

  it('rejects a damaged bit array by its checksum', async () => {
    const flipped = damaged('flipped.rkbf', (bytes) => {
      const at = Math.floor(bytes.length / 2);
      bytes[at] = (bytes[at] ?? 0) ^ 0x10;
      return bytes;
    });
    const result = await problemOf(flipped);
    expect(result).toMatchObject({ code: 7700402, problem: 'checksumMismatch' });
    expect(result.message).toContain('checksum');
  });

  it('rejects impossible header fields before reading the bits', async () => {
    const zeroProbes = damaged('zero-k.rkbf', (bytes) => {
      bytes.writeUInt32LE(0, 16);
      return bytes;
    });
    const result = await problemOf(zeroProbes);
    expect(result).toMatchObject({ code: 7700402, problem: 'badHeader' });
    expect(result.message).toContain('0 probes per entry');
  });

  it('says so when the file does not exist', async () => {
    const result = await problemOf(path.join(directory, 'missing.rkbf'));
    expect(result).toMatchObject({ code: 7700402, problem: 'unreadable' });
    expect(result.message).toContain('does not exist');
  });
});
