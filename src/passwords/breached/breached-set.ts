import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../platform/log.js';
import { type BreachedFilter, type DigestWords, sha1Words } from './breached-filter.js';
import { type ExactIndex, type ExactIndexBuilder, indexFileFor, openExactIndex } from './exact-index.js';
import type { PasswordProbe } from './false-positive-rate.js';
import { filterFileChecksum, type LoadedFilter, readFilterFile, writeFilterFile } from './filter-file.js';

/*
 * The breached-password set the policy engine consults: the common-password set shipped with
 * Rekey, plus the administrator's import of a full breach corpus when there is one.
 *
 * Both are consulted when both exist. The imported corpus is far larger but keyed by the exact
 * password, and an import with --min-count may leave out rare entries; the shipped set is small
 * (one extra lookup, about a microsecond) and matches regardless of case. The combined false-
 * positive rate is 1 - (1 - p_shipped)(1 - p_imported), about the sum of the two.
 *
 * A damaged or foreign imported file stops the load (error 7700402) instead of falling back to
 * the shipped set: silently protecting against 50 thousand passwords instead of a billion is
 * the kind of change an administrator must see.
 *
 * Every filter hit is confirmed against the set's exact index (exact-index.ts) before a password
 * is called breached: the filter's false positives (about one in a thousand unlisted passwords)
 * are answered "not found". A miss, the common case, costs what it did: the index is not read.
 */

export type BreachedSetKind = 'shipped' | 'imported';

/** What `rekey breached info`, the policy bench and the status pages show about one set. */
export interface BreachedSetInfo {
  readonly kind: BreachedSetKind;
  readonly file: string;
  readonly fileBytes: number;
  readonly entries: number;
  /** m */
  readonly bits: number;
  /** k */
  readonly hashCount: number;
  readonly keyForm: 'exact' | 'lowerCase';
  readonly targetFalsePositiveRate: number;
  readonly theoreticalFalsePositiveRate: number;
  readonly formatVersion: number;
  readonly createdAt: string;
  readonly source: string;
  /** The exact index that confirms the filter's hits. */
  readonly index: {
    readonly file: string;
    readonly fileBytes: number;
    readonly records: number;
    readonly recordBytes: number;
    readonly formatVersion: number;
  };
}

/** The loaded set: the policy engine's port is `has`; the rest is for reports. */
export interface BreachedPasswordSet extends PasswordProbe {
  /** True if a consulted set holds the password: a filter hit confirmed by its exact index. */
  has(password: string): boolean;
  /** The sets that hold the password (confirmed), in the order they are consulted. */
  matches(password: string): BreachedSetKind[];
  /** The filters alone, without confirmation: for measuring their false-positive rate. */
  filterHas(password: string): boolean;
  readonly sets: readonly BreachedSetInfo[];
  /**
   * The chance that a password in no list passes the filters, from the sets' own figures. Such a
   * hit costs one index read and is then answered "not found": refusals have no false positives.
   */
  readonly theoreticalFalsePositiveRate: number;
  /** Releases the imported index's file. */
  close(): void;
}

const shippedFileName = 'common-passwords.rkbf';

/** The folder holding package.json: found by walking up, so it is the same from src/ and dist/. */
function packageRoot(): string {
  let directory = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(directory, 'package.json'))) return directory;
    const parent = path.dirname(directory);
    if (parent === directory) throw new Error('Rekey cannot find its package root (package.json)');
    directory = parent;
  }
}

/**
 * Where the shipped set lives. It is built by scripts/build-breached-set.ts and committed under
 * src/ (the compiler does not copy it to dist/), so it is found from the package root whether
 * Rekey runs from src/ (tests, tsx) or from dist/ (npm start).
 */
export function shippedBreachedSetFile(): string {
  return path.join(packageRoot(), 'src', 'passwords', 'breached', 'shipped', shippedFileName);
}

/** Where `rekey breached import` writes by default, and where the loader looks for an import. */
export function importedBreachedSetFile(dataDir: string): string {
  return path.join(dataDir, 'breached', 'imported.rkbf');
}

/** The facts about one loaded filter and its index, for reports. */
export function describeLoadedFilter(
  loaded: LoadedFilter,
  kind: BreachedSetKind,
  index?: Pick<ExactIndex, 'file' | 'fileBytes' | 'records' | 'recordBytes' | 'formatVersion'>,
): BreachedSetInfo {
  const { filter, header } = loaded;
  return {
    kind,
    file: loaded.file,
    fileBytes: loaded.fileBytes,
    entries: filter.entries,
    bits: filter.bits,
    hashCount: filter.hashCount,
    keyForm: filter.metadata.keyForm,
    targetFalsePositiveRate: filter.metadata.targetFalsePositiveRate,
    theoreticalFalsePositiveRate: filter.theoreticalFalsePositiveRate,
    formatVersion: header.version,
    createdAt: filter.metadata.createdAt.toISOString(),
    source: filter.metadata.source,
    index: {
      file: index?.file ?? indexFileFor(loaded.file),
      fileBytes: index?.fileBytes ?? 0,
      records: index?.records ?? 0,
      recordBytes: index?.recordBytes ?? 0,
      formatVersion: index?.formatVersion ?? 0,
    },
  };
}

/** A loaded filter with the exact index that confirms its hits. */
export interface IndexedFilter {
  readonly kind: BreachedSetKind;
  readonly loaded: LoadedFilter;
  readonly index: ExactIndex;
}

function digestBytes(words: DigestWords): Buffer {
  const digest = Buffer.allocUnsafe(20);
  for (let i = 0; i < 5; i += 1) digest.writeUInt32BE(words[i] ?? 0, i * 4);
  return digest;
}

/** Combines loaded filters into one set; each password is hashed at most once per key form. */
export function combineFilters(loaded: readonly IndexedFilter[]): BreachedPasswordSet {
  const filters = loaded.map((entry) => ({
    kind: entry.kind,
    filter: entry.loaded.filter,
    index: entry.index,
  }));
  const probe = (password: string, stopAtFirst: boolean, confirm: boolean): BreachedSetKind[] => {
    const found: BreachedSetKind[] = [];
    const folded = password.toLowerCase();
    let exact: DigestWords | undefined;
    let lower: DigestWords | undefined;
    for (const { kind, filter, index } of filters) {
      let words: DigestWords;
      // A password already in lower case has one digest for both key forms: hash it once.
      if (filter.metadata.keyForm === 'exact' || folded === password) {
        exact ??= sha1Words(password);
        words = exact;
      } else {
        lower ??= sha1Words(folded);
        words = lower;
      }
      // The filter first (one cache line); only its hits read the exact index.
      if (filter.hasDigestWords(...words) && (!confirm || index.contains(digestBytes(words)))) {
        found.push(kind);
        if (stopAtFirst) break;
      }
    }
    return found;
  };
  const sets = loaded.map((entry) => describeLoadedFilter(entry.loaded, entry.kind, entry.index));
  return {
    has: (password) => probe(password, true, true).length > 0,
    matches: (password) => probe(password, false, true),
    filterHas: (password) => probe(password, true, false).length > 0,
    sets,
    theoreticalFalsePositiveRate:
      1 - sets.reduce((pass, set) => pass * (1 - set.theoreticalFalsePositiveRate), 1),
    close: () => {
      for (const entry of loaded) entry.index.close();
    },
  };
}

/**
 * Reads a filter and opens its exact index (`<name>.rkbx` beside `<name>.rkbf`), checking that
 * the index belongs to that filter. Fails with 7700402 (filter) or 7700403 (index: missing,
 * damaged, or of another filter).
 */
export async function loadIndexedFilter(
  file: string,
  kind: BreachedSetKind,
  options: { readonly inMemory: boolean },
): Promise<IndexedFilter> {
  const loaded = await readFilterFile(file);
  const index = openExactIndex(indexFileFor(file), {
    filterChecksum: loaded.checksum,
    keyForm: loaded.filter.metadata.keyForm,
    inMemory: options.inMemory,
  });
  return { kind, loaded, index };
}

/**
 * Writes a list's filter and its exact index together: the index first, then the filter, each
 * atomically, so a reader that sees the new filter finds its index already in place (and a reader
 * between the two renames sees an index of another filter, which it refuses and retries).
 */
export async function writeFilterWithIndex(
  filter: BreachedFilter,
  index: ExactIndexBuilder,
  file: string,
): Promise<{ readonly fileBytes: number; readonly indexBytes: number; readonly indexRecords: number }> {
  const written = index.write(indexFileFor(file), filterFileChecksum(filter));
  const fileBytes = await writeFilterFile(filter, file);
  return { fileBytes, indexBytes: written.fileBytes, indexRecords: written.records };
}

/**
 * Loads the breached-password set: the shipped common-password set, plus the imported corpus at
 * `<dataDir>/breached/imported.rkbf` if an administrator has imported one; both are consulted, each
 * with its exact index. Fails with 7700402 if a filter is damaged, 7700403 if an index is.
 */
export async function loadBreachedSet(options: {
  readonly dataDir: string;
  /** Told when an imported filter has no exact index (an import made before indexes existed). */
  readonly onUnconfirmed?: (file: string) => void;
  /** Overrides for tests and benchmarks. */
  readonly shippedFile?: string;
  readonly importedFile?: string;
}): Promise<BreachedPasswordSet> {
  // The shipped index is a few hundred KB: held in memory. An imported one stays on disk.
  const shipped = await loadIndexedFilter(options.shippedFile ?? shippedBreachedSetFile(), 'shipped', {
    inMemory: true,
  });
  const importedFile = options.importedFile ?? importedBreachedSetFile(options.dataDir);
  const sets: IndexedFilter[] = [shipped];
  if (existsSync(importedFile)) {
    try {
      sets.push(
        existsSync(indexFileFor(importedFile))
          ? await loadIndexedFilter(importedFile, 'imported', { inMemory: false })
          : await loadUnconfirmedFilter(importedFile, options.onUnconfirmed),
      );
    } catch (error) {
      shipped.index.close();
      throw error;
    }
  }
  return combineFilters(sets);
}

/**
 * An import written before filters had an exact index: kept in use rather than dropped (its
 * source list may be gone, and refusing to start would take the service down on upgrade), with
 * its hits unconfirmed as they always were, until `rekey breached import` runs again.
 */
async function loadUnconfirmedFilter(
  file: string,
  onUnconfirmed: ((file: string) => void) | undefined,
): Promise<IndexedFilter> {
  const loaded = await readFilterFile(file);
  onUnconfirmed?.(file);
  const unconfirmed: ExactIndex = {
    file: indexFileFor(file),
    fileBytes: 0,
    records: 0,
    recordBytes: 0,
    bucketBits: 0,
    keyForm: loaded.filter.metadata.keyForm,
    formatVersion: 0,
    // No index to ask: a filter hit stands, with the filter's false-positive rate.
    contains: () => true,
    close: () => {},
  };
  return { kind: 'imported', loaded, index: unconfirmed };
}

/** The loaded set, kept current with the files on disk. */
export interface ReloadingBreachedSet extends BreachedPasswordSet {
  /**
   * Reloads now if the imported files changed since the last load (tests and the CLI's callers
   * use it; lookups trigger it by themselves). Resolves to whether a new set is in use. A failed
   * load keeps the set in use and is logged; it is retried when the files change again.
   */
  refresh(): Promise<boolean>;
}

/** What identifies the imported filter and index on disk: a new import changes it. */
function importedFingerprint(file: string): string {
  const parts: string[] = [];
  for (const name of [file, indexFileFor(file)]) {
    try {
      const stats = statSync(name, { bigint: true });
      parts.push(`${stats.ino}:${stats.size}:${stats.mtimeNs}`);
    } catch {
      parts.push('absent');
    }
  }
  return parts.join('|');
}

/**
 * Loads the breached-password set as `loadBreachedSet` does, and keeps it current: at most every
 * `checkIntervalMs` (default 2 s) a lookup looks at the imported files' identity (two `stat`
 * calls), and when `rekey breached import` has replaced (or an administrator removed) them, the
 * new set is loaded in the background and swapped in; lookups meanwhile use the previous set. So a
 * running server picks up an import within seconds, without a restart. Fails like
 * `loadBreachedSet` at the first load; later failures keep the previous set and are logged.
 */
export async function loadReloadingBreachedSet(options: {
  readonly dataDir: string;
  readonly logger?: Logger;
  readonly checkIntervalMs?: number;
  readonly shippedFile?: string;
  readonly importedFile?: string;
}): Promise<ReloadingBreachedSet> {
  const importedFile = options.importedFile ?? importedBreachedSetFile(options.dataDir);
  const interval = options.checkIntervalMs ?? 2000;
  let fingerprint = importedFingerprint(importedFile);
  const loadOptions = {
    ...options,
    onUnconfirmed: (file: string) =>
      options.logger?.warn(
        { file, index: indexFileFor(file) },
        'the imported breached-password list has no exact index (it was imported by an earlier version): its filter hits are not confirmed, so about one strong password in a thousand may be refused as breached; run `rekey breached import` again',
      ),
  };
  let current = await loadBreachedSet(loadOptions);
  let lastCheck = Date.now();
  let failedFingerprint: string | undefined;
  let pending: Promise<boolean> | undefined;

  const reload = (seen: string): Promise<boolean> => {
    pending ??= (async () => {
      try {
        const next = await loadBreachedSet(loadOptions);
        // The files may have changed again while loading: take the fingerprint seen before.
        const previous = current;
        current = next;
        fingerprint = seen;
        failedFingerprint = undefined;
        previous.close();
        options.logger?.info(
          { sets: next.sets.map((set) => ({ kind: set.kind, entries: set.entries, file: set.file })) },
          'breached-password set reloaded',
        );
        return true;
      } catch (error) {
        failedFingerprint = seen;
        options.logger?.error(
          { err: error },
          'the new breached-password files could not be loaded; the previous set stays in use',
        );
        return false;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };

  const refresh = async (): Promise<boolean> => {
    if (pending) await pending;
    lastCheck = Date.now();
    const seen = importedFingerprint(importedFile);
    if (seen === fingerprint) return false;
    return reload(seen);
  };

  const maybeCheck = (): void => {
    const now = Date.now();
    if (now - lastCheck < interval || pending) return;
    lastCheck = now;
    const seen = importedFingerprint(importedFile);
    if (seen !== fingerprint && seen !== failedFingerprint) void reload(seen);
  };

  return {
    has: (password) => {
      maybeCheck();
      return current.has(password);
    },
    matches: (password) => {
      maybeCheck();
      return current.matches(password);
    },
    filterHas: (password) => current.filterHas(password),
    get sets() {
      return current.sets;
    },
    get theoreticalFalsePositiveRate() {
      return current.theoreticalFalsePositiveRate;
    },
    close: () => current.close(),
    refresh,
  };
}
