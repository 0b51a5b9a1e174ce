import { createHash } from 'node:crypto';
import {
  type BreachedPasswordSet,
  importedBreachedSetFile,
  loadBreachedSet,
  writeFilterWithIndex,
} from '../../src/passwords/breached/breached-set.js';
import {
  ExactIndexBuilder,
  fullRecordBytes,
  indexFileBytes,
  indexFileFor,
} from '../../src/passwords/breached/exact-index.js';
import { measureFalsePositiveRate } from '../../src/passwords/breached/false-positive-rate.js';
import { planFilter } from '../../src/passwords/breached/filter-sizing.js';
import { importHashList } from '../../src/passwords/breached/hash-list-import.js';
import { breachedCorpus } from './corpus.js';
import { between, pick, type Random } from './random.js';
import type { BreachedFigures, ImportedIndexFigures } from './report.js';

const lookupRounds = 200_000;

/**
 * ns per `has` over `passwords`, the loop timed as a whole (a timer per call would cost as much as
 * the call), and how many answered yes (which also keeps the loop from being optimised away).
 */
function timeLookups(set: BreachedPasswordSet, passwords: readonly string[]): { ns: number; hits: number } {
  let hits = 0;
  const start = process.hrtime.bigint();
  for (const password of passwords) if (set.has(password)) hits += 1;
  return { ns: Number(process.hrtime.bigint() - start) / passwords.length, hits };
}

/**
 * Describes the shipped set and measures it: the false-positive rate over `probes` random
 * strings no list holds (through `has`, SHA-1 included), that every entry of its source list is
 * found, and what one lookup costs.
 */
export function measureBreachedSet(
  set: BreachedPasswordSet,
  probes: number,
  random: Random,
): BreachedFigures {
  const info = set.sets[0];
  if (set.sets.length !== 1 || info === undefined || info.kind !== 'shipped') {
    throw new Error(
      `expected only the shipped breached set, got ${set.sets.map((entry) => entry.kind).join(', ') || 'none'}`,
    );
  }

  // The filter alone: its rate is what the sizing promises. Then the set as the policy uses it,
  // every filter hit confirmed against the exact index: no probe may be reported.
  const start = process.hrtime.bigint();
  const measured = measureFalsePositiveRate({ has: (password) => set.filterHas(password) }, { probes });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const confirmed = measureFalsePositiveRate(set, { probes });
  const theoretical = set.theoreticalFalsePositiveRate;
  const standardError = Math.sqrt((theoretical * (1 - theoretical)) / measured.probes);

  let falseNegatives = 0;
  for (const entry of breachedCorpus) if (!set.has(entry)) falseNegatives += 1;

  const typed = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%&*-_';
  // Random typed-length strings: almost all misses (a rare false positive does not change the cost).
  const misses = Array.from({ length: lookupRounds }, () =>
    Array.from({ length: between(random, 8, 16) }, () => pick(random, typed)).join(''),
  );
  const hits = Array.from({ length: lookupRounds }, () => pick(random, breachedCorpus));
  const probeStrings = Array.from({ length: lookupRounds }, () =>
    Array.from({ length: 64 }, () => pick(random, '0123456789abcdef')).join(''),
  );
  // One untimed pass each, so the timed passes run JIT-compiled code.
  timeLookups(set, misses.slice(0, 20_000));
  timeLookups(set, hits.slice(0, 20_000));
  const miss = timeLookups(set, misses);
  const hit = timeLookups(set, hits);
  const probe64 = timeLookups(set, probeStrings);

  return {
    kind: info.kind,
    file: info.file,
    source: info.source,
    keyForm: info.keyForm,
    entries: info.entries,
    fileBytes: info.fileBytes,
    memoryBytes: info.bits / 8,
    bitsPerEntry: info.bits / info.entries,
    hashCount: info.hashCount,
    targetFalsePositiveRate: info.targetFalsePositiveRate,
    theoreticalFalsePositiveRate: theoretical,
    measured: {
      probes: measured.probes,
      falsePositives: measured.falsePositives,
      rate: measured.rate,
      low: measured.low,
      high: measured.high,
      zScore: standardError > 0 ? (measured.rate - theoretical) / standardError : 0,
      seconds,
    },
    falseNegatives,
    sourceEntriesChecked: breachedCorpus.length,
    lookupNs: { miss: miss.ns, hit: hit.ns, probe64: probe64.ns },
    lookupYesShare: { miss: miss.hits / misses.length, hit: hit.hits / hits.length },
    confirmedFalsePositives: confirmed.falsePositives,
    shippedIndex: {
      fileBytes: info.index.fileBytes,
      records: info.index.records,
      recordBytes: info.index.recordBytes,
    },
    importedIndex: undefined,
  };
}

function microseconds(samples: number[]): { p50: number; p99: number; count: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (share: number) => sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), count: sorted.length };
}

function timeEach(set: BreachedPasswordSet, passwords: readonly string[], expected: boolean): number[] {
  const samples: number[] = [];
  for (const password of passwords) {
    const start = process.hrtime.bigint();
    const found = set.has(password);
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
    if (found !== expected) throw new Error(`has(${password}) answered ${found}, expected ${expected}`);
  }
  return samples;
}

async function* hashLines(passwords: readonly string[]): AsyncGenerator<Buffer> {
  const chunk = 10_000;
  for (let i = 0; i < passwords.length; i += chunk) {
    yield Buffer.from(
      passwords
        .slice(i, i + chunk)
        .map(
          (password, j) => `${createHash('sha1').update(password).digest('hex').toUpperCase()}:${j + 1}\r\n`,
        )
        .join(''),
    );
  }
}

/**
 * Imports `entries` synthetic passwords into `dataDir` as `rekey breached import` does (filter and
 * exact index), loads the set with it, and times `has` for listed passwords (confirmed hits), for
 * filter false positives (found by search, then rejected by the index) and for misses. The index
 * is read from the page cache, as on a server that has confirmed a few hits since its start.
 */
export async function measureImportedIndex(
  dataDir: string,
  entries: number,
  random: Random,
): Promise<ImportedIndexFigures> {
  const listed = Array.from({ length: entries }, (_, i) => `bench-leak-${i}-${between(random, 0, 1e9)}`);
  const out = importedBreachedSetFile(dataDir);
  const index = new ExactIndexBuilder({
    near: indexFileFor(out),
    recordBytes: fullRecordBytes,
    keyForm: 'exact',
  });
  let written: { fileBytes: number; indexBytes: number; indexRecords: number };
  try {
    const { filter } = await importHashList(hashLines(listed), {
      expectedEntries: entries,
      targetFalsePositiveRate: 0.001,
      minCount: 1,
      skipInvalid: false,
      sourceName: 'bench list',
      sourceDescription: 'bench list',
      alsoInto: index,
    });
    written = await writeFilterWithIndex(filter, index, out);
  } finally {
    index.discard();
  }
  const set = await loadBreachedSet({ dataDir });
  try {
    const typed = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%&*-_';
    const randomTyped = () =>
      Array.from({ length: between(random, 8, 16) }, () => pick(random, typed)).join('');
    const falseHits: string[] = [];
    const misses: string[] = [];
    while (falseHits.length < 2_000) {
      const candidate = randomTyped();
      if (!set.filterHas(candidate)) {
        if (misses.length < 50_000) misses.push(candidate);
      } else if (!set.has(candidate)) falseHits.push(candidate);
    }
    const hits = Array.from({ length: 20_000 }, () => pick(random, listed)).filter(
      (password) => !set.matches(password).includes('shipped'),
    );
    // Warm up the code paths (and the page cache) before timing.
    timeEach(set, hits.slice(0, 2_000), true);
    timeEach(set, misses.slice(0, 5_000), false);
    const confirmedHitUs = microseconds(timeEach(set, hits, true));
    const rejectedFilterHitUs = microseconds(timeEach(set, falseHits, false));
    const missUs = microseconds(timeEach(set, misses, false));
    const info = set.sets.find((entry) => entry.kind === 'imported');
    const bucketBits = Math.min(
      16,
      Math.max(0, Math.floor(Math.log2(Math.max(1, written.indexRecords / 512)))),
    );
    const hundredMillion = 100_000_000;
    return {
      entries: written.indexRecords,
      indexBytes: written.indexBytes,
      filterBytes: written.fileBytes,
      recordBytes: info?.index.recordBytes ?? fullRecordBytes,
      recordsPerBucket: written.indexRecords / 2 ** bucketBits,
      confirmedHitUs,
      rejectedFilterHitUs,
      missUs,
      per100M: {
        recordBytes: fullRecordBytes,
        indexBytes: indexFileBytes(hundredMillion, fullRecordBytes),
        filterBytes: planFilter(hundredMillion, 0.001).bits / 8,
      },
    };
  } finally {
    set.close();
  }
}
