import type { BreachedPasswordSet } from '../../src/passwords/breached/breached-set.js';
import { measureFalsePositiveRate } from '../../src/passwords/breached/false-positive-rate.js';
import { breachedCorpus } from './corpus.js';
import { between, pick, type Random } from './random.js';
import type { BreachedFigures } from './report.js';

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

  const start = process.hrtime.bigint();
  const measured = measureFalsePositiveRate(set, { probes });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
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
  };
}
