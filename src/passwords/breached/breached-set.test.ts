import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRekeyError } from '../../platform/errors/rekey-error.js';
import { BreachedFilter } from './breached-filter.js';
import {
  importedBreachedSetFile,
  loadBreachedSet,
  shippedBreachedSetFile,
  writeFilterWithIndex,
} from './breached-set.js';
import { ExactIndexBuilder, fullRecordBytes, indexFileFor } from './exact-index.js';
import { measureFalsePositiveRate } from './false-positive-rate.js';
import { readFilterFile, writeFilterFile } from './filter-file.js';

describe('the shipped breached-password set', () => {
  it('holds the famous passwords, in any case, and not a random one', async () => {
    const { filter, header } = await readFilterFile(shippedBreachedSetFile());
    for (const password of ['123456', 'password', 'qwerty', 'iloveyou', 'letmein', 'trustno1']) {
      expect(filter.has(password), password).toBe(true);
    }
    expect(filter.has('Password')).toBe(true);
    expect(filter.has('QWERTY')).toBe(true);
    const random = randomBytes(15).toString('base64');
    expect(random).toHaveLength(20);
    expect(filter.has(random)).toBe(false);
    expect(header.keyForm).toBe('lowerCase');
    expect(header.source).toMatch(
      /^@zxcvbn-ts\/language-common \d+\.\d+\.\d+, dictionary 'passwords-common' .*MIT licence$/,
    );
    expect(filter.entries).toBeGreaterThan(40_000);
    expect(header.targetFalsePositiveRate).toBe(0.001);
  });

  it('is commit-sized and measures near its theoretical false-positive rate', async () => {
    const { filter, fileBytes } = await readFilterFile(shippedBreachedSetFile());
    expect(fileBytes).toBeLessThan(128 * 1024);
    const measured = measureFalsePositiveRate(filter, { probes: 200_000 });
    const expected = filter.theoreticalFalsePositiveRate * measured.probes;
    expect(Math.abs(measured.falsePositives - expected)).toBeLessThan(6 * Math.sqrt(expected));
  });
});

describe('loadBreachedSet', () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'rekey-breached-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('uses the shipped set alone when nothing was imported', async () => {
    const set = await loadBreachedSet({ dataDir });
    expect(set.sets.map((info) => info.kind)).toEqual(['shipped']);
    expect(set.has('password')).toBe(true);
    expect(set.has('PassWord')).toBe(true);
    expect(set.has('Correct-Horse-Battery-Staple-91')).toBe(false);
    expect(set.theoreticalFalsePositiveRate).toBeCloseTo(set.sets[0]?.theoreticalFalsePositiveRate ?? 0, 15);
    expect(set.sets[0]).toMatchObject({
      kind: 'shipped',
      file: shippedBreachedSetFile(),
      keyForm: 'lowerCase',
      formatVersion: 1,
      hashCount: 9,
    });
  });

  it('consults the imported set too, by exact password, when there is one', async () => {
    const imported = BreachedFilter.create({
      expectedEntries: 10,
      targetFalsePositiveRate: 0.001,
      source: 'test import',
      keyForm: 'exact',
    });
    const file = importedBreachedSetFile(dataDir);
    const index = new ExactIndexBuilder({
      near: indexFileFor(file),
      recordBytes: fullRecordBytes,
      keyForm: 'exact',
    });
    for (const password of ['Tr0ub4dour&3', 'password']) {
      imported.add(password);
      index.addDigest(createHash('sha1').update(password).digest());
    }
    await writeFilterWithIndex(imported, index, file);

    const set = await loadBreachedSet({ dataDir });
    expect(set.sets.map((info) => info.kind)).toEqual(['shipped', 'imported']);
    expect(set.has('Tr0ub4dour&3')).toBe(true);
    expect(set.has('tr0ub4dour&3')).toBe(false);
    expect(set.matches('Tr0ub4dour&3')).toEqual(['imported']);
    expect(set.matches('password')).toEqual(['shipped', 'imported']);
    expect(set.matches('Password')).toEqual(['shipped']);
    expect(set.matches('Correct-Horse-Battery-Staple-91')).toEqual([]);
    const [shipped, importedInfo] = set.sets;
    const combined =
      1 -
      (1 - (shipped?.theoreticalFalsePositiveRate ?? 0)) *
        (1 - (importedInfo?.theoreticalFalsePositiveRate ?? 0));
    expect(set.theoreticalFalsePositiveRate).toBeCloseTo(combined, 12);
  });

  it('keeps an import made before filters had an index, unconfirmed and said so, instead of refusing to start', async () => {
    const directory = path.join(dataDir, 'before-indexes');
    mkdirSync(path.join(directory, 'breached'), { recursive: true });
    const imported = BreachedFilter.create({
      expectedEntries: 10,
      targetFalsePositiveRate: 0.001,
      source: 'an import from an earlier version',
      keyForm: 'exact',
    });
    imported.add('Tr0ub4dour&3');
    // The filter alone, as an earlier version wrote it: no .rkbx beside it.
    await writeFilterFile(imported, importedBreachedSetFile(directory));
    const told: string[] = [];
    const set = await loadBreachedSet({ dataDir: directory, onUnconfirmed: (file) => told.push(file) });
    expect(told).toEqual([importedBreachedSetFile(directory)]);
    expect(set.sets.map((info) => info.kind)).toEqual(['shipped', 'imported']);
    expect(set.matches('Tr0ub4dour&3')).toEqual(['imported']);
    expect(set.sets[1]?.index).toMatchObject({ records: 0, formatVersion: 0 });
    set.close();
  });

  it('refuses to start on a damaged import instead of silently dropping it', async () => {
    const directory = path.join(dataDir, 'damaged');
    mkdirSync(path.join(directory, 'breached'), { recursive: true });
    writeFileSync(importedBreachedSetFile(directory), 'not a filter');
    const error = await loadBreachedSet({ dataDir: directory }).catch((reason: unknown) => reason);
    expect(isRekeyError(error) && error.code).toBe(7700402);
    expect(isRekeyError(error) && error.details).toEqual({
      file: importedBreachedSetFile(directory),
      problem: 'notAFilter',
    });
  });
});
