import type { CpuInterference } from '../lib/cpu-accounting.js';

/*
 * What the policy worker measures and prints as one JSON line, and what the `policy` command
 * renders and writes to bench/results/. Shared by both sides so they cannot drift apart.
 */

/** Latency of one row, in microseconds. */
export interface MicrosecondSummary {
  readonly count: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
  /** 1e6 / mean: evaluations one core does per second, back to back. */
  readonly perSecond: number;
}

/** One row of the latency table. */
export interface LatencyRow {
  readonly name: string;
  /** `evaluateWithoutHistory` (sync) or `evaluate` (async, history checked). */
  readonly call: 'evaluateWithoutHistory' | 'evaluate';
  readonly description: string;
  readonly seed: number | undefined;
  readonly warmup: number;
  readonly latency: MicrosecondSummary;
  /** Whether the row counts toward the p99 < 1 ms target (argon2-bound rows do not). */
  readonly inTarget: boolean;
  /** p99 < 1 ms; undefined for rows outside the target. */
  readonly pass: boolean | undefined;
  /** Share of evaluations that were valid. */
  readonly validShare: number;
  /** Failures per rule id, over the measured evaluations. */
  readonly failuresByRule: Readonly<Record<string, number>>;
  /** Mean Password Protection score. */
  readonly meanScore: number;
  /** argon2 verifies the hasher saw, per evaluation (0 where history must not need one). */
  readonly verifiesPerEvaluation: number;
  readonly interference: CpuInterference | undefined;
}

/** The fixed inputs of the evaluation part and what setting them up cost. */
export interface SetupFigures {
  readonly tenantName: string;
  readonly customList: {
    readonly seed: number;
    readonly terms: number;
    readonly minLength: number;
    readonly maxLength: number;
    readonly meanLength: number;
    readonly examples: readonly string[];
  };
  readonly globalTerms: number;
  readonly users: { readonly seed: number; readonly count: number; readonly disableStrongPassword: number };
  /** Distinct normalised terms in the compiled matcher, and its trie size. */
  readonly matcherTerms: number;
  readonly trieNodes: number;
  readonly breachedSetLoadMs: number;
  /** `applyPasswordProtectionPatch` of the 1000 terms (the PATCH validation). */
  readonly validateMs: number;
  /** The first compile in the process (cold JIT), as the first evaluation after a settings change. */
  readonly compileFirstMs: number;
  /** Later compiles on fresh engines: what each new settings version costs once warm. */
  readonly compileMedianMs: number;
  readonly compileMinMs: number;
  readonly compileMaxMs: number;
  readonly compileRepeats: number;
  /** `matcherFor` with the same settings object (the cache every evaluation goes through). */
  readonly cacheHitSameObjectUs: number;
  /** `matcherFor` with a new settings object of the same content (settings re-read per request). */
  readonly cacheHitSameContentUs: number;
  /** Two `process.hrtime.bigint()` calls and a subtraction, included in every latency sample. */
  readonly timerOverheadNs: number;
}

/** One breached set's facts and measurements. */
export interface BreachedFigures {
  readonly kind: string;
  readonly file: string;
  readonly source: string;
  readonly keyForm: string;
  readonly entries: number;
  readonly fileBytes: number;
  /** The bit array (m / 8): what the set holds in memory. */
  readonly memoryBytes: number;
  readonly bitsPerEntry: number;
  readonly hashCount: number;
  readonly targetFalsePositiveRate: number;
  readonly theoreticalFalsePositiveRate: number;
  readonly measured: {
    readonly probes: number;
    readonly falsePositives: number;
    readonly rate: number;
    /** 95% Wilson score interval. */
    readonly low: number;
    readonly high: number;
    /** (measured - theoretical) in standard errors of the theoretical rate. */
    readonly zScore: number;
    readonly seconds: number;
  };
  /** Entries of the source list the set reported absent: must be 0 (a Bloom filter has no false negatives). */
  readonly falseNegatives: number;
  readonly sourceEntriesChecked: number;
  /** ns per `has`, SHA-1 included, for typed-length misses (8-16 chars), hits, and the 64-char probes. */
  readonly lookupNs: { readonly miss: number; readonly hit: number; readonly probe64: number };
  /** Share of those lookups that answered yes: about the false-positive rate for misses, 1 for hits. */
  readonly lookupYesShare: { readonly miss: number; readonly hit: number };
  /** `has` (filter hits confirmed by the exact index) over the same random probes: must be 0. */
  readonly confirmedFalsePositives: number;
  /** The shipped set's exact index, held in memory. */
  readonly shippedIndex: {
    readonly fileBytes: number;
    readonly records: number;
    readonly recordBytes: number;
  };
  /** An imported list built for the bench, its index on disk: what a confirmation costs. */
  readonly importedIndex: ImportedIndexFigures | undefined;
}

/** The cost of confirming filter hits against an imported list's on-disk index. */
export interface ImportedIndexFigures {
  readonly entries: number;
  readonly indexBytes: number;
  readonly filterBytes: number;
  readonly recordBytes: number;
  readonly recordsPerBucket: number;
  /** `has` of listed passwords: filter hit + one bucket read + binary search; microseconds. */
  readonly confirmedHitUs: { readonly p50: number; readonly p99: number; readonly count: number };
  /** `has` of filter false positives: the same read, answered "not found"; microseconds. */
  readonly rejectedFilterHitUs: { readonly p50: number; readonly p99: number; readonly count: number };
  /** `has` of random typed strings with the imported set loaded: the miss path, no index read. */
  readonly missUs: { readonly p50: number; readonly p99: number; readonly count: number };
  /** Computed from the record size and the bucket table, not measured. */
  readonly per100M: {
    readonly indexBytes: number;
    readonly filterBytes: number;
    readonly recordBytes: number;
  };
}

/** The worker's whole output. */
export interface PolicyWorkerOutput {
  readonly kind: 'policy-worker';
  readonly parts: readonly string[];
  readonly setup: SetupFigures | undefined;
  readonly rows: readonly LatencyRow[];
  /** All sync mixes pooled into one distribution. */
  readonly pooled: MicrosecondSummary | undefined;
  readonly breached: BreachedFigures | undefined;
  readonly settings: {
    readonly baseSeed: number;
    readonly evaluationsPerMix: number;
    readonly warmupPerMix: number;
    readonly historyEvaluations: number;
    readonly falsePositiveProbes: number;
    readonly targetP99Us: number;
  };
}

const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null;

/** A shape check of the worker's line: enough to catch a worker and a command out of step. */
export function isPolicyWorkerOutput(value: unknown): value is PolicyWorkerOutput {
  if (!isObject(value) || Reflect.get(value, 'kind') !== 'policy-worker') return false;
  const rows = Reflect.get(value, 'rows');
  if (!Array.isArray(rows)) return false;
  const rowsOk = rows.every((row: unknown) => {
    if (!isObject(row) || typeof Reflect.get(row, 'name') !== 'string') return false;
    const latency = Reflect.get(row, 'latency');
    return isObject(latency) && typeof Reflect.get(latency, 'p99Us') === 'number';
  });
  const setup = Reflect.get(value, 'setup');
  const breached = Reflect.get(value, 'breached');
  return (
    rowsOk &&
    isObject(Reflect.get(value, 'settings')) &&
    (setup === undefined || (isObject(setup) && typeof Reflect.get(setup, 'compileFirstMs') === 'number')) &&
    (breached === undefined || (isObject(breached) && isObject(Reflect.get(breached, 'measured'))))
  );
}
