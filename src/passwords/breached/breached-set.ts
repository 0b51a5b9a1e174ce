import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BreachedFilter, type DigestWords, sha1Words } from './breached-filter.js';
import type { PasswordProbe } from './false-positive-rate.js';
import { type LoadedFilter, readFilterFile } from './filter-file.js';

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
}

/** The loaded set: the policy engine's port is `has`; the rest is for reports. */
export interface BreachedPasswordSet extends PasswordProbe {
  /** True if any consulted set may hold the password (false positives possible, no false negatives). */
  has(password: string): boolean;
  /** The sets that may hold the password, in the order they are consulted. */
  matches(password: string): BreachedSetKind[];
  readonly sets: readonly BreachedSetInfo[];
  /** The chance that a password in no list is reported anyway, from the sets' own figures. */
  readonly theoreticalFalsePositiveRate: number;
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

/** The facts about one loaded filter, for reports. */
export function describeLoadedFilter(loaded: LoadedFilter, kind: BreachedSetKind): BreachedSetInfo {
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
  };
}

/** Combines loaded filters into one set; each password is hashed at most once per key form. */
export function combineFilters(
  loaded: readonly { readonly kind: BreachedSetKind; readonly loaded: LoadedFilter }[],
): BreachedPasswordSet {
  const filters: readonly { readonly kind: BreachedSetKind; readonly filter: BreachedFilter }[] = loaded.map(
    (entry) => ({ kind: entry.kind, filter: entry.loaded.filter }),
  );
  const probe = (password: string, stopAtFirst: boolean): BreachedSetKind[] => {
    const found: BreachedSetKind[] = [];
    const folded = password.toLowerCase();
    let exact: DigestWords | undefined;
    let lower: DigestWords | undefined;
    for (const { kind, filter } of filters) {
      let words: DigestWords;
      // A password already in lower case has one digest for both key forms: hash it once.
      if (filter.metadata.keyForm === 'exact' || folded === password) {
        exact ??= sha1Words(password);
        words = exact;
      } else {
        lower ??= sha1Words(folded);
        words = lower;
      }
      if (filter.hasDigestWords(...words)) {
        found.push(kind);
        if (stopAtFirst) break;
      }
    }
    return found;
  };
  const sets = loaded.map((entry) => describeLoadedFilter(entry.loaded, entry.kind));
  return {
    has: (password) => probe(password, true).length > 0,
    matches: (password) => probe(password, false),
    sets,
    theoreticalFalsePositiveRate:
      1 - sets.reduce((pass, set) => pass * (1 - set.theoreticalFalsePositiveRate), 1),
  };
}

/**
 * Loads the breached-password set: the shipped common-password set, plus the imported corpus at
 * `<dataDir>/breached/imported.rkbf` if an administrator has imported one; both are consulted.
 * Fails with 7700402 if either file is damaged.
 */
export async function loadBreachedSet(options: {
  readonly dataDir: string;
  /** Overrides for tests and benchmarks. */
  readonly shippedFile?: string;
  readonly importedFile?: string;
}): Promise<BreachedPasswordSet> {
  const shipped = await readFilterFile(options.shippedFile ?? shippedBreachedSetFile());
  const importedFile = options.importedFile ?? importedBreachedSetFile(options.dataDir);
  const sets: { kind: BreachedSetKind; loaded: LoadedFilter }[] = [{ kind: 'shipped', loaded: shipped }];
  if (existsSync(importedFile)) sets.push({ kind: 'imported', loaded: await readFilterFile(importedFile) });
  return combineFilters(sets);
}
