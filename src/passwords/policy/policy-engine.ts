import { timingSafeEqual } from 'node:crypto';
import type { PasswordHasher } from '../../platform/crypto/password-hasher.js';
import { Codes } from '../../platform/errors/catalog.js';
import { RekeyError } from '../../platform/errors/rekey-error.js';
import {
  type BannedTermMatcher,
  type BannedTermSource,
  compileBannedTerms,
  type requiredPasswordProtectionScore,
  scorePassword,
} from './banned-term-matcher.js';
import { globalBannedTerms as shippedGlobalBannedTerms } from './global-banned-terms.js';
import { normalizeForMatching, type UserNameParts, userNameTerms } from './normalize.js';
import { hasPasswordPolicyFlag } from './password-expiry.js';
import {
  characterCensus,
  type PolicyFailureCode,
  type PolicyRuleId,
  policyRuleCodes,
  policyRuleIds,
  ruleMessages,
} from './rules.js';
import type {
  PasswordPolicySettings,
  PasswordProtectionMode,
  PasswordProtectionSettings,
} from './settings.js';

/** The breached-password filter, as the policy needs it (built in src/passwords/breached/). */
export interface BreachedPasswordSet {
  /** True when the password is (probably: the filter may give false positives) a breached one. */
  has(password: string): boolean;
}

/**
 * Why the password is being checked. It decides the history depth and the minimum age:
 * - `change`: the user replaces their own password; history is `historyCountOnChange`, minimum age applies.
 * - `reset`: an administrator (or a reset flow) sets it; history is `historyCountOnReset`, no minimum age.
 * - `create`: a new account's first password; no history, no minimum age.
 * - `evaluate`: a dry run; judged as a change.
 */
export type PolicyOperation = 'change' | 'reset' | 'create' | 'evaluate';

/** The user the password is for. Every field is optional: a dry run may name nobody. */
export interface PolicySubject extends UserNameParts {
  /** Graph's `passwordPolicies` string; `DisableStrongPassword` relaxes the rules (see the docs). */
  readonly passwordPolicies?: string | null | undefined;
}

export interface PolicySettings {
  readonly passwordPolicy: PasswordPolicySettings;
  readonly passwordProtection: PasswordProtectionSettings;
}

export interface PolicyInput {
  readonly password: string;
  readonly operation: PolicyOperation;
  readonly subject: PolicySubject;
  /** The tenant's name (REKEY_TENANT_NAME); matched when `checkTenantName` is on. */
  readonly tenantName: string | null;
  readonly settings: PolicySettings;
  /** The current password in plain text, when the caller has it (a self-service change). */
  readonly currentPassword?: string | undefined;
  /**
   * The stored history, newest first, the current password's hash being the first entry (as
   * Rekey's store keeps it). Only the first N entries are read, N from the settings. When
   * `currentPassword` is given it answers for the first entry and that hash is not verified.
   */
  readonly history?: { readonly hashes: readonly string[] } | undefined;
  /** When the current password was set (ISO 8601), for the minimum age. */
  readonly passwordSetAt?: string | null | undefined;
  /**
   * True when the user must change the password now (it expired, or an administrator asked for a
   * change at next sign-in): the minimum age does not apply, or a user given a temporary password
   * could not replace it.
   */
  readonly mustChange?: boolean | undefined;
  readonly now: Date;
  /** A matcher compiled earlier for these settings (see `PolicyEngine.matcherFor`); built here otherwise. */
  readonly matcher?: BannedTermMatcher | undefined;
}

export interface PolicyFailure {
  readonly rule: PolicyRuleId;
  readonly code: PolicyFailureCode;
  readonly message: string;
}

export interface PasswordProtectionResult {
  readonly score: number;
  readonly required: typeof requiredPasswordProtectionScore;
  /** Distinct banned terms and names found, normalised; never any other part of the password. */
  readonly matchedTerms: string[];
  /** The lists the matched terms came from: `global`, `custom`, `tenantName`, `userName`. */
  readonly matchedSources: BannedTermSource[];
  readonly mode: PasswordProtectionMode;
  readonly enabled: boolean;
  /** True when the score reaches the required points. */
  readonly passed: boolean;
  /**
   * True when the password would have failed but the mode is `Audit`: it is accepted, and the
   * caller records the would-be failure (audit log and event log).
   */
  readonly auditOnly: boolean;
}

/** The verdict on one password: every failing rule, and Password Protection's workings. */
export interface PolicyEvaluation {
  readonly valid: boolean;
  /** Every failing rule, in the order of `policyRuleIds`. */
  readonly failures: PolicyFailure[];
  readonly passwordProtection: PasswordProtectionResult;
  /** The rules that were applied, so a reader can tell "passed" from "not checked". */
  readonly rulesChecked: PolicyRuleId[];
}

export interface PolicyEngineDeps {
  /** Verifies a password against a stored PHC hash (the history rule). */
  readonly hasher: Pick<PasswordHasher, 'verify'>;
  readonly breached: BreachedPasswordSet;
  /** Replaces the shipped global banned list (tests use a short one). */
  readonly globalBannedTerms?: readonly string[];
}

export interface PolicyEngine {
  /** Applies every rule, history included (argon2 verifies run on the thread pool). */
  evaluate(input: PolicyInput): Promise<PolicyEvaluation>;
  /** Applies every rule but history, synchronously; for a dry run or a cheap first pass. */
  evaluateWithoutHistory(input: PolicyInput): PolicyEvaluation;
  /**
   * The compiled matcher for these settings and tenant name. Cached: the same settings object
   * (or the same list and tenant name) returns the same matcher, so compiling happens once per
   * settings version.
   */
  matcherFor(protection: PasswordProtectionSettings, tenantName: string | null): BannedTermMatcher;
}

const dayMs = 24 * 60 * 60 * 1000;
/** Matchers kept by content, for callers that load a fresh settings object per request. */
const contentCacheSize = 4;

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

function failure(rule: PolicyRuleId, message: string): PolicyFailure {
  return { rule, code: policyRuleCodes[rule], message };
}

function byRuleOrder<T>(items: T[], ruleOf: (item: T) => PolicyRuleId): T[] {
  return items.sort((x, y) => policyRuleIds.indexOf(ruleOf(x)) - policyRuleIds.indexOf(ruleOf(y)));
}

/** How many history entries the operation checks. */
function historyDepth(operation: PolicyOperation, settings: PasswordPolicySettings): number {
  switch (operation) {
    case 'change':
    case 'evaluate':
      return settings.historyCountOnChange;
    case 'reset':
      return settings.historyCountOnReset;
    case 'create':
      return 0;
    default: {
      const unknown: never = operation;
      throw new Error(`unknown policy operation ${String(unknown)}`);
    }
  }
}

/**
 * Builds the policy engine: one place that decides whether a new password is acceptable for a
 * user and an operation, and says exactly why not.
 *
 * @example
 * const engine = createPolicyEngine({ hasher, breached });
 * const result = await engine.evaluate({ password, operation: 'change', subject, tenantName,
 *   settings, currentPassword, history: { hashes }, passwordSetAt, now: clock.now() });
 * assertPolicySatisfied(result);
 */
export function createPolicyEngine(deps: PolicyEngineDeps): PolicyEngine {
  const globalTerms = deps.globalBannedTerms ?? shippedGlobalBannedTerms;
  const bySettings = new WeakMap<PasswordProtectionSettings, Map<string, BannedTermMatcher>>();
  const byContent = new Map<string, BannedTermMatcher>();

  const matcherFor = (
    protection: PasswordProtectionSettings,
    tenantName: string | null,
  ): BannedTermMatcher => {
    const tenant = protection.checkTenantName ? (tenantName ?? '') : '';
    let perTenant = bySettings.get(protection);
    const cached = perTenant?.get(tenant);
    if (cached) return cached;
    const contentKey = `${tenant}\n${protection.customBannedPasswords.join('\n')}`;
    let matcher = byContent.get(contentKey);
    if (!matcher) {
      matcher = compileBannedTerms({
        globalTerms,
        customTerms: protection.customBannedPasswords,
        tenantName: tenant,
      });
      byContent.set(contentKey, matcher);
      // Oldest first in a Map: drop it once the cache is full.
      if (byContent.size > contentCacheSize) {
        const oldest = byContent.keys().next();
        if (!oldest.done) byContent.delete(oldest.value);
      }
    }
    if (!perTenant) {
      perTenant = new Map();
      bySettings.set(protection, perTenant);
    }
    perTenant.set(tenant, matcher);
    return matcher;
  };

  const evaluateWithoutHistory = (input: PolicyInput): PolicyEvaluation => {
    const policy = input.settings.passwordPolicy;
    const protection = input.settings.passwordProtection;
    const isStrengthRelaxed = hasPasswordPolicyFlag(input.subject.passwordPolicies, 'DisableStrongPassword');
    const failures: PolicyFailure[] = [];
    const rulesChecked: PolicyRuleId[] = ['unsupportedCharacters', 'length'];
    const census = characterCensus(input.password);

    if (census.unsupported > 0)
      failures.push(failure('unsupportedCharacters', ruleMessages.unsupportedCharacters()));
    if (census.length < policy.minLength || census.length > policy.maxLength) {
      failures.push(failure('length', ruleMessages.length(policy.minLength, policy.maxLength)));
    }
    // DisableStrongPassword lifts the character-category rule only; see docs/password-policy.md.
    if (!isStrengthRelaxed) {
      rulesChecked.push('characterCategories');
      if (census.categories < policy.requiredCategories) {
        failures.push(
          failure('characterCategories', ruleMessages.characterCategories(policy.requiredCategories)),
        );
      }
    }

    const nameTerms = userNameTerms(input.subject);
    rulesChecked.push('containsUserName');
    const normalized = normalizeForMatching(input.password);
    if (nameTerms.some((term) => normalized.includes(term))) {
      failures.push(failure('containsUserName', ruleMessages.containsUserName()));
    }

    const matcher = input.matcher ?? matcherFor(protection, input.tenantName);
    const scored = scorePassword(input.password, matcher, nameTerms);
    const passed = scored.score >= scored.required;
    if (protection.enabled) {
      rulesChecked.push('passwordProtection');
      if (!passed && protection.mode === 'Enforced') {
        failures.push(
          failure('passwordProtection', ruleMessages.passwordProtection(scored.score, scored.required)),
        );
      }
    }

    rulesChecked.push('breached');
    if (deps.breached.has(input.password)) failures.push(failure('breached', ruleMessages.breached()));

    const minimumAgeApplies =
      (input.operation === 'change' || input.operation === 'evaluate') &&
      input.mustChange !== true &&
      policy.minimumAgeDays > 0;
    const setAt = Date.parse(input.passwordSetAt ?? '');
    if (minimumAgeApplies && !Number.isNaN(setAt)) {
      rulesChecked.push('minimumAge');
      const allowedFrom = setAt + policy.minimumAgeDays * dayMs;
      if (input.now.getTime() < allowedFrom) {
        failures.push(
          failure(
            'minimumAge',
            ruleMessages.minimumAge(policy.minimumAgeDays, new Date(allowedFrom).toISOString()),
          ),
        );
      }
    }

    return {
      valid: failures.length === 0,
      failures: byRuleOrder(failures, (f) => f.rule),
      passwordProtection: {
        score: scored.score,
        required: scored.required,
        matchedTerms: scored.matchedTerms,
        matchedSources: scored.matchedSources,
        mode: protection.mode,
        enabled: protection.enabled,
        passed,
        auditOnly: protection.enabled && protection.mode === 'Audit' && !passed,
      },
      rulesChecked: byRuleOrder(rulesChecked, (rule) => rule),
    };
  };

  /** True when the password is one of the newest `depth` passwords; stops at the first hit. */
  const isReused = async (input: PolicyInput, depth: number): Promise<boolean> => {
    const hashes = (input.history?.hashes ?? []).slice(0, depth);
    let first = 0;
    if (input.currentPassword !== undefined) {
      if (sameText(input.password, input.currentPassword)) return true;
      // The plain current password answered for the newest entry: one argon2 verify saved.
      first = 1;
    }
    // One at a time, newest first: most reuse is of the current password, and each verify
    // costs tens of milliseconds of a thread-pool thread.
    for (let i = first; i < hashes.length; i += 1) {
      const hash = hashes[i];
      if (hash !== undefined && (await deps.hasher.verify(hash, input.password))) return true;
    }
    return false;
  };

  const evaluate = async (input: PolicyInput): Promise<PolicyEvaluation> => {
    const result = evaluateWithoutHistory(input);
    const depth = historyDepth(input.operation, input.settings.passwordPolicy);
    const hasHistory = input.currentPassword !== undefined || (input.history?.hashes.length ?? 0) > 0;
    if (depth === 0 || !hasHistory) return result;
    const failures = [...result.failures];
    if (await isReused(input, depth)) failures.push(failure('history', ruleMessages.history(depth)));
    return {
      ...result,
      valid: failures.length === 0,
      failures: byRuleOrder(failures, (f) => f.rule),
      rulesChecked: byRuleOrder([...result.rulesChecked, 'history'], (rule) => rule),
    };
  };

  return { evaluate, evaluateWithoutHistory, matcherFor };
}

/**
 * The error to throw for a failed evaluation, or null when it passed: 120003 when the only
 * failures are the user's name, 120018 when Password Protection (enforced) is the only one,
 * otherwise 120002. The details carry every failure and Password Protection's workings.
 */
export function policyErrorFor(evaluation: PolicyEvaluation): RekeyError | null {
  if (evaluation.valid) return null;
  const only = (rule: PolicyRuleId) => evaluation.failures.every((f) => f.rule === rule);
  const code = only('containsUserName')
    ? Codes.PasswordChangeInvalidNewPasswordContainsMemberName
    : only('passwordProtection')
      ? Codes.PasswordChangePasswordDoesnotComplyFuzzyPolicy
      : Codes.PasswordChangeInvalidNewPasswordWeak;
  return new RekeyError(code, {
    details: { failures: evaluation.failures, passwordProtection: evaluation.passwordProtection },
  });
}

/** Throws `policyErrorFor(evaluation)` when the password failed. */
export function assertPolicySatisfied(evaluation: PolicyEvaluation): void {
  const error = policyErrorFor(evaluation);
  if (error) throw error;
}
