import { createHash } from 'node:crypto';
import {
  copyFileSync,
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dictionary } from '@zxcvbn-ts/language-common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRekeyError } from '../../platform/errors/rekey-error.js';
import { createPolicyEngine } from '../policy/policy-engine.js';
import { defaultPasswordPolicySettings, defaultPasswordProtectionSettings } from '../policy/settings.js';
import {
  type BreachedPasswordSet,
  importedBreachedSetFile,
  loadBreachedSet,
  loadIndexedFilter,
  loadReloadingBreachedSet,
  writeFilterWithIndex,
} from './breached-set.js';
import { ExactIndexBuilder, fullRecordBytes, indexFileFor } from './exact-index.js';
import { importHashList } from './hash-list-import.js';

const sha1 = (text: string) => createHash('sha1').update(text, 'utf8').digest('hex');

/** Searches `Orbit-<n>-Zx8#`-shaped passwords for one the filters alone report. */
function findFilterOnlyHit(set: BreachedPasswordSet, shape: (n: number) => string): string {
  for (let n = 0; n < 500_000; n += 1) {
    const candidate = shape(n);
    if (set.filterHas(candidate)) return candidate;
  }
  throw new Error('no filter hit in 500,000 candidates: the filter rate is far below 0.001');
}

function expectIndexError(error: unknown, problem: string): void {
  expect(isRekeyError(error) && error.code, String(error)).toBe(7700403);
  expect(isRekeyError(error) && error.details).toMatchObject({ problem });
}

/** Imports `passwords` as a real `HASH:count` file into `dataDir`'s imported set, as the CLI does. */
async function importList(dataDir: string, passwords: readonly string[]): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  const listFile = path.join(dataDir, `list-${passwords.length}-${Date.now()}.txt`);
  writeFileSync(
    listFile,
    passwords.map((password, i) => `${sha1(password).toUpperCase()}:${i + 1}\r\n`).join(''),
  );
  const out = importedBreachedSetFile(dataDir);
  const index = new ExactIndexBuilder({
    near: indexFileFor(out),
    recordBytes: fullRecordBytes,
    keyForm: 'exact',
  });
  try {
    const { filter } = await importHashList(createReadStream(listFile), {
      expectedEntries: passwords.length,
      targetFalsePositiveRate: 0.001,
      minCount: 1,
      skipInvalid: false,
      sourceName: path.basename(listFile),
      sourceDescription: 'test list',
      alsoInto: index,
    });
    await writeFilterWithIndex(filter, index, out);
  } finally {
    index.discard();
  }
}

describe('confirming filter hits against the exact index', () => {
  let root: string;
  const listed = Array.from({ length: 5_000 }, (_, i) => `Leaked-Secret-${i}!`);

  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'rekey-exact-index-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('accepts a password the shipped filter alone reports, and still refuses a listed one', async () => {
    const set = await loadBreachedSet({ dataDir: path.join(root, 'none') });
    try {
      const common = new Set(dictionary['passwords-common']);
      // The password a load run saw refused as breached: a false positive of the shipped filter.
      expect(set.filterHas('Orbit-8-10-Zx8#')).toBe(true);
      expect(set.has('Orbit-8-10-Zx8#')).toBe(false);
      const falseHit = findFilterOnlyHit(set, (n) => `Orbit-${n}-10-Zx8#`);
      expect(common.has(falseHit.toLowerCase())).toBe(false);
      // Before the exact index this password was refused as breached.
      expect(set.filterHas(falseHit)).toBe(true);
      expect(set.has(falseHit)).toBe(false);
      expect(set.matches(falseHit)).toEqual([]);
      for (const password of ['password', 'Password', 'qwerty', 'iloveyou', 'trustno1']) {
        expect(set.has(password), password).toBe(true);
      }
      // Every entry of the source list is still found, confirmation included.
      const missing = [...common].filter((entry) => !set.has(entry));
      expect(missing).toEqual([]);

      // And through the policy engine: no "breached" failure for the false hit.
      const engine = createPolicyEngine({
        hasher: { verify: () => Promise.reject(new Error('no history here')) },
        breached: set,
      });
      const judge = (password: string) =>
        engine
          .evaluateWithoutHistory({
            password,
            operation: 'change',
            subject: {
              userPrincipalName: 'dana@example.com',
              displayName: 'Dana Whitfield',
              givenName: 'Dana',
              surname: 'Whitfield',
              passwordPolicies: null,
            },
            tenantName: 'Fabrikam',
            settings: {
              passwordPolicy: defaultPasswordPolicySettings,
              passwordProtection: defaultPasswordProtectionSettings,
            },
            now: new Date('2026-01-01T00:00:00Z'),
          })
          .failures.map((failure) => failure.rule);
      expect(judge(falseHit)).not.toContain('breached');
      expect(judge('Trustno1')).toContain('breached');
    } finally {
      set.close();
    }
  });

  it('accepts a password the imported filter alone reports, and still refuses a listed one', async () => {
    const dataDir = path.join(root, 'imported');
    await importList(dataDir, listed);
    const set = await loadBreachedSet({ dataDir });
    try {
      expect(set.sets.map((info) => info.kind)).toEqual(['shipped', 'imported']);
      expect(set.sets[1]?.index).toMatchObject({ records: listed.length, recordBytes: 20, formatVersion: 1 });
      // A hit of the imported filter that the shipped set does not explain.
      const falseHit = findFilterOnlyHit(set, (n) => `Quartz-${n}-Lantern-7$`);
      expect(listed).not.toContain(falseHit);
      expect(set.has(falseHit)).toBe(false);
      for (const password of [listed[0], listed[2_345], listed[4_999]]) {
        expect(set.has(password ?? ''), password).toBe(true);
        expect(set.matches(password ?? '')).toEqual(['imported']);
      }
      expect(listed.every((password) => set.has(password))).toBe(true);
      expect(set.has('leaked-secret-1!')).toBe(false);
    } finally {
      set.close();
    }
  });

  it('refuses a foreign, truncated or mismatched index with 7700403 at load, and keeps a filter whose index is missing', async () => {
    const dataDir = path.join(root, 'damaged-load');
    await importList(dataDir, listed);
    const filterFile = importedBreachedSetFile(dataDir);
    const indexFile = indexFileFor(filterFile);
    const good = readFileSync(indexFile);
    const load = () =>
      loadBreachedSet({ dataDir }).then(
        () => undefined,
        (error: unknown) => error,
      );

    // A missing index is an import from before indexes existed: kept, unconfirmed, not refused
    // (breached-set.test.ts). Any other problem with an index that is there refuses the load.
    rmSync(indexFile);
    const unconfirmed = await loadBreachedSet({ dataDir });
    expect(unconfirmed.sets[1]?.index).toMatchObject({ records: 0 });
    unconfirmed.close();

    writeFileSync(indexFile, 'E38AD214943DAAD1D64C102FAEC29DE4AFE9DA3D:5\n');
    expectIndexError(await load(), 'notAnIndex');

    writeFileSync(indexFile, good);
    truncateSync(indexFile, good.length - 7);
    expectIndexError(await load(), 'truncated');

    const tableDamaged = Buffer.from(good);
    tableDamaged[64 + 3] = (tableDamaged[64 + 3] ?? 0) ^ 0x40;
    writeFileSync(indexFile, tableDamaged);
    expectIndexError(await load(), 'checksumMismatch');

    // The index of another import beside this filter (a half-done copy of the pair).
    const otherDir = path.join(root, 'other');
    await importList(otherDir, listed.slice(0, 100));
    copyFileSync(indexFor(otherDir), indexFile);
    expectIndexError(await load(), 'otherFilter');

    writeFileSync(indexFile, good);
    const set = await loadBreachedSet({ dataDir });
    expect(set.has(listed[7] ?? '')).toBe(true);
    set.close();
  });

  it('fails a lookup in a damaged bucket with 7700403 instead of answering "not breached"', async () => {
    const dataDir = path.join(root, 'damaged-record');
    await importList(dataDir, listed);
    const indexFile = indexFor(dataDir);
    const bytes = readFileSync(indexFile);
    // Damage the last record: the bucket that holds it no longer matches its checksum.
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0x01;
    writeFileSync(indexFile, bytes);
    const set = await loadBreachedSet({ dataDir });
    try {
      const lastHex = bytes.subarray(bytes.length - 20).toString('hex');
      const damaged = listed.find((password) => {
        const hex = sha1(password);
        return hex.slice(0, 4) === lastHex.slice(0, 4);
      });
      expect(damaged).toBeDefined();
      const error = (() => {
        try {
          return set.has(damaged ?? '');
        } catch (reason) {
          return reason;
        }
      })();
      expectIndexError(error, 'checksumMismatch');
      // An index held in memory (as the shipped one is) has every bucket checked at load.
      const inMemory = await loadIndexedFilter(importedBreachedSetFile(dataDir), 'imported', {
        inMemory: true,
      }).catch((reason: unknown) => reason);
      expectIndexError(inMemory, 'checksumMismatch');
    } finally {
      set.close();
    }
  });
});

function indexFor(dataDir: string): string {
  return indexFileFor(importedBreachedSetFile(dataDir));
}

describe('a running process picks up a new import', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'rekey-breached-reload-'));
    mkdirSync(path.join(dataDir, 'breached'), { recursive: true });
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('switches to the new files without a restart, and keeps the old set when the new one is damaged', async () => {
    const lines: string[] = [];
    const logger = {
      info: (_: unknown, message: string) => lines.push(`info ${message}`),
      error: (_: unknown, message: string) => lines.push(`error ${message}`),
    } as unknown as Parameters<typeof loadReloadingBreachedSet>[0]['logger'];
    const set = await loadReloadingBreachedSet({ dataDir, logger, checkIntervalMs: 0 });
    try {
      expect(set.sets.map((info) => info.kind)).toEqual(['shipped']);
      expect(set.has('Fresh-Leak-2026!')).toBe(false);

      await importList(dataDir, ['Fresh-Leak-2026!', 'Another-Leak-9?']);
      // A lookup notices the change and loads the new set in the background.
      set.has('Fresh-Leak-2026!');
      await set.refresh();
      expect(set.sets.map((info) => info.kind)).toEqual(['shipped', 'imported']);
      expect(set.has('Fresh-Leak-2026!')).toBe(true);
      expect(lines).toContain('info breached-password set reloaded');

      // A damaged replacement (put in place by rename, as an import does) is logged and the set
      // in use stays.
      writeFileSync(`${indexFor(dataDir)}.new`, 'not an index');
      renameSync(`${indexFor(dataDir)}.new`, indexFor(dataDir));
      expect(await set.refresh()).toBe(false);
      expect(set.has('Fresh-Leak-2026!')).toBe(true);
      expect(lines.some((line) => line.startsWith('error '))).toBe(true);

      // Removing the import goes back to the shipped set alone.
      rmSync(importedBreachedSetFile(dataDir));
      rmSync(indexFor(dataDir));
      expect(await set.refresh()).toBe(true);
      expect(set.has('Fresh-Leak-2026!')).toBe(false);
    } finally {
      set.close();
    }
  });
});
