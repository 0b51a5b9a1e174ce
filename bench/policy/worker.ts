/**
 * Child process of the `policy` benchmark: builds the policy engine in-process over the shipped
 * breached set and a full custom list, and measures evaluation latency and the breached set, away
 * from the harness's own heap and event loop (a fresh process, so an earlier benchmark's garbage
 * and JIT state do not land in these figures).
 *
 * Usage: node --import tsx worker.ts <part,part>; progress on stderr, one JSON line on stdout.
 */
import { type BreachedPasswordSet, loadBreachedSet } from '../../src/passwords/breached/breached-set.js';
import {
  applyPasswordProtectionPatch,
  createPolicyEngine,
  defaultPasswordPolicySettings,
  defaultPasswordProtectionSettings,
  globalBannedTerms,
  type PolicyEngine,
  type PolicyInput,
  type PolicySettings,
} from '../../src/passwords/policy/index.js';
import { createArgon2Hasher, type PasswordHasher } from '../../src/platform/crypto/password-hasher.js';
import { assertOwaspPhc, owaspArgon2id } from '../lib/argon2-options.js';
import { installCleanupHandlers, makeTempDir, removeTempDir } from '../lib/processes.js';
import { measureBreachedSet, measureImportedIndex } from './breached-figures.js';
import { benchTenantName, buildCustomList, buildUsers, type CustomList, type Mix, mixes } from './corpus.js';
import {
  medianCallUs,
  summarizeMicroseconds,
  type TimedRun,
  timeAsync,
  timeMs,
  timerOverheadNs,
  timeSync,
} from './measure.js';
import { seededRandom } from './random.js';
import type { LatencyRow, PolicyWorkerOutput, SetupFigures } from './report.js';

const parts = new Set((process.argv[2] ?? '').split(',').filter((part) => part !== ''));
if (parts.size === 0) throw new Error('usage: worker.ts <part,part> (evaluate, history, breached)');

/** Every generator's seed derives from this one, so a run is reproducible from one number. */
const baseSeed = 0x5eed_2026;
const seeds = {
  customList: baseSeed,
  users: baseSeed + 1,
  breachedLookups: baseSeed + 2,
  mix: (index: number) => baseSeed + 100 + index,
};
const evaluationsPerMix = 20_000;
const warmupPerMix = 2_000;
const userCount = 64;
const compileRepeats = 10;
/** argon2-bound: each evaluation costs one OWASP argon2id verify (tens of ms), so few are enough. */
const historyEvaluations = 40;
const historyWarmup = 3;
const falsePositiveProbes = 1_000_000;
/** Entries of the imported list the bench builds to time confirmations against an on-disk index. */
const importedIndexEntries = 1_000_000;
const targetP99Us = 1_000;

const progress = (message: string): void => {
  process.stderr.write(`[policy] ${message}\n`);
};

/** A hasher for paths that must not reach argon2: a call means the engine verified a hash it should not have. */
const noArgon2: Pick<PasswordHasher, 'verify'> = {
  verify: async () => {
    throw new Error('the engine ran an argon2 verify although the current password answered for the history');
  },
};

function inputsFor(
  mix: Mix,
  mixIndex: number,
  count: number,
  context: { customList: CustomList; settings: PolicySettings; users: ReturnType<typeof buildUsers> },
  extra: Partial<PolicyInput> = {},
): PolicyInput[] {
  const random = seededRandom(seeds.mix(mixIndex));
  const now = new Date();
  return Array.from({ length: count }, () => {
    const sample = mix.next({ random, customTerms: context.customList.terms, users: context.users });
    return {
      password: sample.password,
      operation: 'change',
      subject: sample.subject,
      tenantName: benchTenantName,
      settings: context.settings,
      now,
      ...extra,
    };
  });
}

function row(
  spec: Pick<LatencyRow, 'name' | 'call' | 'description' | 'seed' | 'warmup' | 'inTarget'>,
  run: TimedRun,
  verifies: number,
): LatencyRow {
  const latency = summarizeMicroseconds(run.samplesUs);
  return {
    ...spec,
    latency,
    pass: spec.inTarget ? latency.p99Us < targetP99Us : undefined,
    validShare: run.validCount / latency.count,
    failuresByRule: run.failuresByRule,
    meanScore: run.scoreSum / latency.count,
    verifiesPerEvaluation: verifies / latency.count,
    interference: run.interference,
  };
}

interface EvaluationContext {
  readonly engine: PolicyEngine;
  readonly breached: BreachedPasswordSet;
  readonly customList: CustomList;
  readonly settings: PolicySettings;
  readonly users: ReturnType<typeof buildUsers>;
}

/** Builds the list, the users and the engine, and times what happens once per settings version. */
function setUp(breached: BreachedPasswordSet, breachedSetLoadMs: number) {
  const customList = buildCustomList(seededRandom(seeds.customList), seeds.customList);
  const validateMs = timeMs(() =>
    applyPasswordProtectionPatch(defaultPasswordProtectionSettings, {
      customBannedPasswords: customList.terms,
    }),
  );
  const users = buildUsers(seededRandom(seeds.users), userCount);
  const protection = customList.settings;
  const settings: PolicySettings = {
    passwordPolicy: defaultPasswordPolicySettings,
    passwordProtection: protection,
  };

  const engine = createPolicyEngine({ hasher: noArgon2, breached });
  const compileFirstMs = timeMs(() => engine.matcherFor(protection, benchTenantName));
  // A fresh engine has empty caches, so matcherFor compiles again: the cost of each later settings version.
  const compiles = Array.from({ length: compileRepeats }, () => {
    const fresh = createPolicyEngine({ hasher: noArgon2, breached });
    return timeMs(() => fresh.matcherFor(protection, benchTenantName));
  }).sort((a, b) => a - b);
  const matcher = engine.matcherFor(protection, benchTenantName);
  const lengths = customList.terms.map((term) => term.length);
  const setup: SetupFigures = {
    tenantName: benchTenantName,
    customList: {
      seed: customList.seed,
      terms: protection.customBannedPasswords.length,
      minLength: Math.min(...lengths),
      maxLength: Math.max(...lengths),
      meanLength: lengths.reduce((sum, length) => sum + length, 0) / lengths.length,
      examples: customList.terms.slice(0, 6),
    },
    globalTerms: globalBannedTerms.length,
    users: {
      seed: seeds.users,
      count: users.length,
      disableStrongPassword: users.filter((user) => user.passwordPolicies === 'DisableStrongPassword').length,
    },
    matcherTerms: matcher.terms.length,
    trieNodes: matcher.trie.nodeCount,
    breachedSetLoadMs,
    validateMs,
    compileFirstMs,
    compileMedianMs: compiles[Math.floor(compiles.length / 2)] ?? Number.NaN,
    compileMinMs: compiles[0] ?? Number.NaN,
    compileMaxMs: compiles.at(-1) ?? Number.NaN,
    compileRepeats,
    cacheHitSameObjectUs: medianCallUs(() => engine.matcherFor(protection, benchTenantName), 50, 1_000),
    cacheHitSameContentUs: medianCallUs(() => engine.matcherFor({ ...protection }, benchTenantName), 50, 200),
    timerOverheadNs: timerOverheadNs(),
  };
  const context: EvaluationContext = { engine, breached, customList, settings, users };
  return { setup, context };
}

/** One synchronous row per mix, then `evaluate` with a known current password (no argon2). */
async function measureEvaluations(context: EvaluationContext, rows: LatencyRow[]): Promise<Float64Array[]> {
  const total = warmupPerMix + evaluationsPerMix;
  const samples: Float64Array[] = [];
  const inputsByMix = mixes.map((mix, index) => inputsFor(mix, index, total, context));
  // A warm server has seen every kind of password: warm the engine on all mixes before timing any,
  // so the first row does not carry the JIT's tier-up alone. Each row then warms up again on its own.
  progress(`warm-up: ${warmupPerMix} evaluations of each of the ${mixes.length} mixes`);
  for (const inputs of inputsByMix) {
    for (const input of inputs.slice(0, warmupPerMix)) context.engine.evaluateWithoutHistory(input);
  }
  for (const [index, mix] of mixes.entries()) {
    progress(`evaluateWithoutHistory, ${mix.name}: ${warmupPerMix} warm-up + ${evaluationsPerMix} timed`);
    const inputs = inputsByMix[index] ?? [];
    const run = timeSync(inputs, warmupPerMix, (input) => context.engine.evaluateWithoutHistory(input));
    samples.push(run.samplesUs);
    rows.push(
      row(
        {
          name: mix.name,
          call: 'evaluateWithoutHistory',
          description: mix.description,
          seed: seeds.mix(index),
          warmup: warmupPerMix,
          inTarget: true,
        },
        run,
        0,
      ),
    );
  }

  const [firstMix] = mixes;
  if (firstMix === undefined) throw new Error('no password mixes defined');
  progress(`evaluate, history of 1 with the current password known: ${evaluationsPerMix} timed`);
  // The same passwords as the first sync row, so the difference is the async path and the compare.
  const inputs = inputsFor(firstMix, 0, total, context, {
    currentPassword: 'Quartz-Current-0-x9!',
    // Never verified (the plain current password answers for it); the engine would throw through noArgon2.
    history: {
      hashes: ['$argon2id$v=19$m=19456,t=2,p=1$bm90LXZlcmlmaWVk$bm90LXZlcmlmaWVkLW5vdC12ZXJpZmllZA'],
    },
  });
  const run = await timeAsync(inputs, warmupPerMix, (input) => context.engine.evaluate(input));
  rows.push(
    row(
      {
        name: `${firstMix.name}, history 1`,
        call: 'evaluate',
        description: `${firstMix.name} passwords through evaluate(), history of 1 answered by the known current password (compared in constant time, no argon2)`,
        seed: seeds.mix(0),
        warmup: warmupPerMix,
        inTarget: true,
      },
      run,
      0,
    ),
  );
  return samples;
}

/** `evaluate` with one stored hash and no plain current password: one real argon2id verify each. */
async function measureArgon2History(context: EvaluationContext, rows: LatencyRow[]): Promise<void> {
  const argon2 = createArgon2Hasher({
    memoryKib: owaspArgon2id.memoryCost ?? 19456,
    iterations: owaspArgon2id.timeCost ?? 2,
    parallelism: owaspArgon2id.parallelism ?? 1,
  });
  const oldHash = await argon2.hash('Quartz-History-0-x9!');
  assertOwaspPhc(oldHash, 'policy history row');
  let verifies = 0;
  const counting: Pick<PasswordHasher, 'verify'> = {
    verify: (phc, password) => {
      verifies += 1;
      return argon2.verify(phc, password);
    },
  };
  const engine = createPolicyEngine({ hasher: counting, breached: context.breached });
  const [firstMix] = mixes;
  if (firstMix === undefined) throw new Error('no password mixes defined');
  progress(
    `evaluate, history of 1 verified with argon2id: ${historyWarmup} warm-up + ${historyEvaluations} timed`,
  );
  const inputs = inputsFor(firstMix, 0, historyWarmup + historyEvaluations, context, {
    history: { hashes: [oldHash] },
  });
  const run = await timeAsync(inputs, historyWarmup, (input) => engine.evaluate(input));
  // The row is labelled "one verify each"; if the engine skips or repeats verifies, the label lies.
  if (verifies !== historyWarmup + historyEvaluations) {
    throw new Error(
      `argon2 history row: expected ${historyWarmup + historyEvaluations} verifies, one per evaluation, the engine ran ${verifies}`,
    );
  }
  rows.push(
    row(
      {
        name: `${firstMix.name}, argon2 history`,
        call: 'evaluate',
        description: `${firstMix.name} passwords through evaluate(), one stored hash and no plain current password: one argon2id verify (m=19456 KiB, t=2, p=1) each, on the thread pool; dominated by argon2, not part of the target`,
        seed: seeds.mix(0),
        warmup: historyWarmup,
        inTarget: false,
      },
      run,
      // The counter also saw the warm-up; scale it to the timed evaluations.
      (verifies * historyEvaluations) / (historyWarmup + historyEvaluations),
    ),
  );
}

async function main(): Promise<void> {
  installCleanupHandlers();
  // An empty data dir: the loader finds no imported corpus, so only the shipped set is consulted.
  const dataDir = makeTempDir('rekey-bench-policy-');
  const output: {
    setup: SetupFigures | undefined;
    rows: LatencyRow[];
    pooled: PolicyWorkerOutput['pooled'];
    breached: PolicyWorkerOutput['breached'];
  } = { setup: undefined, rows: [], pooled: undefined, breached: undefined };
  try {
    progress('loading the shipped breached set');
    const loadStart = process.hrtime.bigint();
    const breached = await loadBreachedSet({ dataDir });
    const breachedSetLoadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;

    if (parts.has('evaluate') || parts.has('history')) {
      progress('building the 1000-term custom list and compiling the matcher');
      const { setup, context } = setUp(breached, breachedSetLoadMs);
      output.setup = setup;
      if (parts.has('evaluate')) {
        const samples = await measureEvaluations(context, output.rows);
        const pooled = new Float64Array(samples.reduce((sum, entry) => sum + entry.length, 0));
        let offset = 0;
        for (const entry of samples) {
          pooled.set(entry, offset);
          offset += entry.length;
        }
        output.pooled = summarizeMicroseconds(pooled);
      }
      if (parts.has('history')) await measureArgon2History(context, output.rows);
    }
    if (parts.has('breached')) {
      progress(
        `breached set: ${falsePositiveProbes.toLocaleString('en-US')} false-positive probes and lookup cost`,
      );
      const shipped = measureBreachedSet(breached, falsePositiveProbes, seededRandom(seeds.breachedLookups));
      progress(
        `breached set: importing ${importedIndexEntries.toLocaleString('en-US')} entries to time confirmations`,
      );
      const importDir = makeTempDir('rekey-bench-breached-import-');
      try {
        output.breached = {
          ...shipped,
          importedIndex: await measureImportedIndex(
            importDir,
            importedIndexEntries,
            seededRandom(seeds.breachedLookups + 1),
          ),
        };
      } finally {
        removeTempDir(importDir);
      }
    }
  } finally {
    removeTempDir(dataDir);
  }
  const result: PolicyWorkerOutput = {
    kind: 'policy-worker',
    parts: [...parts],
    ...output,
    settings: {
      baseSeed,
      evaluationsPerMix,
      warmupPerMix,
      historyEvaluations,
      falsePositiveProbes,
      targetP99Us,
    },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
