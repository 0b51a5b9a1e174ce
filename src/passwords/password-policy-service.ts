import type { Kysely } from 'kysely';
import { recordAudit } from '../audit/audit-service.js';
import type { Clock } from '../platform/clock.js';
import type { PasswordHasher } from '../platform/crypto/password-hasher.js';
import type { Db } from '../platform/db/database.js';
import type { Database, UserRow } from '../platform/db/schema.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { Logger } from '../platform/log.js';
import type { RequestContext } from '../platform/request-context.js';
import type { SettingsService } from '../settings/settings-service.js';
import { assertMayCheckPasswordHistory } from '../users/authorization.js';
import { findLiveUser } from '../users/user-service.js';
import { findCurrentPasswordHash, findPasswordSetAt, listPasswordHistory } from './credential-store.js';
import { generatePassword } from './generate-password.js';
import {
  type PasswordExpiry,
  type PolicyEngine,
  type PolicyEvaluation,
  type PolicyInput,
  type PolicySettings,
  passwordExpiry,
  policyErrorFor,
} from './policy/index.js';

/*
 * The policy engine put to work: every path that sets a password (self-service and forced change,
 * administrator reset, account creation) and the evaluate dry run ask this service, which loads
 * the tenant's settings, the user's history and password age, runs the one engine, and throws the
 * catalog error (120002 / 120003 / 120018) naming every failing rule.
 */

/** The user a password is for, as the policy needs them; `id` is null for an account not yet created. */
export interface PolicyUser {
  readonly id: string | null;
  readonly userPrincipalName: string;
  readonly displayName: string;
  readonly givenName: string | null;
  readonly surname: string | null;
  readonly passwordPolicies: string | null;
  /** An administrator asked for a change at the next sign-in. */
  readonly forceChangePasswordNextSignIn: boolean;
  readonly lastPasswordChangeDateTime: string | null;
}

/** The policy's view of a stored user. */
export function policyUserOf(row: UserRow): PolicyUser {
  return {
    id: row.id,
    userPrincipalName: row.user_principal_name,
    displayName: row.display_name,
    givenName: row.given_name,
    surname: row.surname,
    passwordPolicies: row.password_policies,
    forceChangePasswordNextSignIn: row.force_change_password_next_sign_in === 1,
    lastPasswordChangeDateTime: row.last_password_change_at,
  };
}

/** The operations that set a password; `evaluate` is the dry run's own entry point. */
export type PasswordSetOperation = 'change' | 'reset' | 'create';

export interface EvaluateRequest {
  readonly password: string;
  readonly userId?: string | undefined;
  readonly userPrincipalName?: string | undefined;
  readonly displayName?: string | undefined;
  /** Compare with the user's recent passwords too; audited, and only for those who may reset them. */
  readonly checkHistory?: boolean | undefined;
}

/** The dry run's answer: the evaluation, and who it was judged for. Never holds the password. */
export interface EvaluateResult extends PolicyEvaluation {
  readonly user: {
    readonly id: string | null;
    readonly userPrincipalName: string | null;
    /** False when a user principal name was given that no account has: judged as a new account. */
    readonly exists: boolean;
  } | null;
  /** How many of the user's recent passwords were compared (0 unless checkHistory). */
  readonly historyChecked: number;
}

export interface PasswordPolicyServiceDeps {
  readonly db: Db;
  readonly tenantId: string;
  /** REKEY_TENANT_NAME, matched by Password Protection when `checkTenantName` is on. */
  readonly tenantName: string;
  readonly engine: PolicyEngine;
  /** Verifies the dry run's password against the current hash, to leave the current password out. */
  readonly hasher: Pick<PasswordHasher, 'verify'>;
  readonly settings: Pick<SettingsService, 'getPolicySettings'>;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** A refusal by the policy (as opposed to a failure to evaluate at all). */
function isPolicyRefusal(error: unknown): error is RekeyError {
  return (
    error instanceof RekeyError &&
    new Set<number>([
      Codes.PasswordChangeInvalidNewPasswordWeak,
      Codes.PasswordChangeInvalidNewPasswordContainsMemberName,
      Codes.PasswordChangePasswordDoesnotComplyFuzzyPolicy,
    ]).has(error.code)
  );
}

/** Tries at a generated password before giving up (one in a thousand is a breached-filter false positive). */
const generateAttempts = 20;

export type PasswordPolicyService = ReturnType<typeof createPasswordPolicyService>;

/** The password policy applied to real users: checks, the dry run, expiry, audit-mode records. */
export function createPasswordPolicyService(deps: PasswordPolicyServiceDeps) {
  const { db, tenantId, tenantName, engine, clock, logger } = deps;

  function subjectOf(user: PolicyUser) {
    return {
      userPrincipalName: user.userPrincipalName,
      displayName: user.displayName,
      givenName: user.givenName,
      surname: user.surname,
      passwordPolicies: user.passwordPolicies,
    };
  }

  /** Whether the user must change the password now: forced by an administrator, or expired. */
  function mustChange(user: PolicyUser, settings: PolicySettings): boolean {
    return (
      user.forceChangePasswordNextSignIn || passwordExpiry(settings.passwordPolicy, user, clock.now()).expired
    );
  }

  function historyDepthFor(operation: PasswordSetOperation | 'evaluate', settings: PolicySettings): number {
    switch (operation) {
      case 'change':
      case 'evaluate':
        return settings.passwordPolicy.historyCountOnChange;
      case 'reset':
        return settings.passwordPolicy.historyCountOnReset;
      case 'create':
        return 0;
      default: {
        const unknown: never = operation;
        throw new Error(`unknown operation ${String(unknown)}`);
      }
    }
  }

  /** The engine's input for a real user: settings, history (as deep as needed), password age. */
  async function inputFor(
    operation: PasswordSetOperation | 'evaluate',
    user: PolicyUser,
    password: string,
    settings: PolicySettings,
    options: { readonly currentPassword?: string | undefined; readonly withHistory: boolean },
  ): Promise<PolicyInput> {
    const depth = options.withHistory ? historyDepthFor(operation, settings) : 0;
    // With the current password in hand the engine answers for the newest entry without a hash,
    // so the default depth of 1 on a change reads (and verifies) no history at all.
    const needsHashes = user.id !== null && depth > (options.currentPassword === undefined ? 0 : 1);
    let hashes = needsHashes ? await listPasswordHistory(db.kysely, user.id, depth) : [];
    if (operation === 'evaluate' && user.id !== null && hashes.length > 0) {
      // A dry run never compares with the current password: that would answer "is this the
      // password?" with no smart lockout in the way, for an administrator or a stolen token.
      const current = await findCurrentPasswordHash(db.kysely, user.id);
      hashes = hashes.filter((hash) => hash !== current);
    }
    const needsAge =
      user.id !== null &&
      (operation === 'change' || operation === 'evaluate') &&
      settings.passwordPolicy.minimumAgeDays > 0;
    return {
      password,
      operation,
      subject: subjectOf(user),
      tenantName,
      settings,
      currentPassword: options.currentPassword,
      history: { hashes },
      passwordSetAt: needsAge ? await findPasswordSetAt(db.kysely, user.id) : null,
      mustChange: mustChange(user, settings),
      now: clock.now(),
      matcher: engine.matcherFor(settings.passwordProtection, tenantName),
    };
  }

  /**
   * The dry run's evaluation with the current password left out of the history rule, however its
   * hash was produced: `inputFor` drops the current hash from the history, but an older entry can
   * hold the same password (A, then B, then A again) or a hash of it under other parameters. The
   * verify runs on every dry run with history, matched or not, so its time tells nothing either.
   */
  async function withoutCurrentPassword(
    evaluation: PolicyEvaluation,
    userId: string,
    password: string,
  ): Promise<PolicyEvaluation> {
    const current = await findCurrentPasswordHash(db.kysely, userId);
    const isCurrent = current !== null && (await deps.hasher.verify(current, password));
    if (!isCurrent) return evaluation;
    const failures = evaluation.failures.filter((failure) => failure.rule !== 'history');
    return { ...evaluation, failures, valid: failures.length === 0 };
  }

  /**
   * Judges a new password for `user` in `operation` and throws the policy error when it fails:
   * 120003 (only the user's name), 120018 (only Password Protection) or 120002, with every
   * failing rule and the Password Protection score in the details. Returns the evaluation, whose
   * `passwordProtection.auditOnly` tells the caller to `recordAuditOnly` once the change is accepted.
   */
  async function assertAcceptable(
    operation: PasswordSetOperation,
    user: PolicyUser,
    password: string,
    options: { readonly currentPassword?: string | undefined } = {},
  ): Promise<PolicyEvaluation> {
    const settings = await deps.settings.getPolicySettings();
    const input = await inputFor(operation, user, password, settings, {
      currentPassword: options.currentPassword,
      withHistory: true,
    });
    const evaluation = await engine.evaluate(input);
    const error = policyErrorFor(evaluation);
    if (error) throw error;
    return evaluation;
  }

  /**
   * A generated password that the policy accepts for `user` (a reset without a password). The
   * generator's passwords pass every strength rule; a retry covers the breached filter's rare
   * false positive (about one in a thousand) and any custom banned term it happens to contain.
   */
  async function generateAcceptable(
    user: PolicyUser,
    operation: PasswordSetOperation,
  ): Promise<{ readonly password: string; readonly evaluation: PolicyEvaluation }> {
    const { minLength, maxLength } = (await deps.settings.getPolicySettings()).passwordPolicy;
    // 16 characters unless the policy asks for more, or allows less.
    const length = Math.min(maxLength, Math.max(16, minLength));
    let lastError: unknown;
    for (let attempt = 0; attempt < generateAttempts; attempt += 1) {
      const password = generatePassword(length);
      try {
        return { password, evaluation: await assertAcceptable(operation, user, password) };
      } catch (error) {
        if (!isPolicyRefusal(error)) throw error;
        lastError = error;
      }
    }
    // Twenty refusals in a row means the policy itself refuses such passwords (e.g. a custom
    // rule no random password can meet): say which rule, as for a password the administrator typed.
    throw lastError;
  }

  /**
   * Records a password that Password Protection would have refused but accepted because it runs in
   * Audit mode: a directoryAudit row "Password Protection audit-only result" (score, required
   * score, the lists that matched; never the password or the terms found in it) and a structured
   * log line. Run it with the transaction that accepts the password, when the caller has one.
   * (The event log does not exist yet; the log line stands in for its entry.)
   */
  async function recordAuditOnly(
    trx: Kysely<Database>,
    context: RequestContext,
    target: { readonly id: string; readonly displayName: string; readonly userPrincipalName: string },
    operation: PasswordSetOperation,
    evaluation: PolicyEvaluation,
  ): Promise<void> {
    const protection = evaluation.passwordProtection;
    if (!protection.auditOnly) return;
    const at = clock.now().toISOString();
    await recordAudit(
      trx,
      tenantId,
      context,
      {
        activity: 'passwordProtectionAuditOnlyResult',
        result: 'success',
        resultReason: `Password Protection is in Audit mode: the password scored ${protection.score} of the ${protection.required} points needed and would have been refused (AADSTS120018); it was accepted.`,
        targets: [
          {
            id: target.id,
            displayName: target.displayName,
            userPrincipalName: target.userPrincipalName,
          },
        ],
        additionalDetails: [
          { key: 'operation', value: operation },
          { key: 'score', value: String(protection.score) },
          { key: 'requiredScore', value: String(protection.required) },
          { key: 'matchedSources', value: protection.matchedSources.join(',') },
          { key: 'matchedTermCount', value: String(protection.matchedTerms.length) },
        ],
      },
      at,
    );
    logger.warn(
      {
        event: 'passwordProtection.auditOnly',
        correlationId: context.correlationId,
        userId: target.id,
        operation,
        score: protection.score,
        requiredScore: protection.required,
        matchedSources: protection.matchedSources,
      },
      'Password Protection (Audit mode) would have refused a password; it was accepted',
    );
  }

  /**
   * The dry run of `POST /rekey/v1/passwordPolicy/evaluate` and `rekey policy test`: every rule,
   * judged as a change by the named user (or by nobody, or by a new account with the given user
   * principal name), storing nothing. History is compared only with `checkHistory`, because it
   * answers "is this one of the user's recent passwords?": it needs a role that may reset the
   * user's password and writes an audit row each time.
   */
  async function evaluate(context: RequestContext, request: EvaluateRequest): Promise<EvaluateResult> {
    if (request.userId !== undefined && request.userPrincipalName !== undefined) {
      throw new RekeyError(Codes.RequestValidationFailed, {
        message: 'Give userId or userPrincipalName, not both.',
        details: { fields: [{ field: 'body', problem: 'userId and userPrincipalName are exclusive' }] },
      });
    }
    let row: UserRow | undefined;
    if (request.userId !== undefined) {
      row = await findLiveUser(db.kysely, tenantId, { id: request.userId });
      if (!row) throw new RekeyError(Codes.ResourceNotFound, { details: { id: request.userId } });
    } else if (request.userPrincipalName !== undefined) {
      row = await findLiveUser(db.kysely, tenantId, { upn: request.userPrincipalName });
    }
    if (request.checkHistory && !row) {
      throw new RekeyError(Codes.RequestValidationFailed, {
        message: 'checkHistory needs the userId or userPrincipalName of an existing user.',
        details: { fields: [{ field: 'body/checkHistory', problem: 'needs an existing user' }] },
      });
    }
    if (request.checkHistory && row) assertMayCheckPasswordHistory(context.actor, row);

    const known = row ? policyUserOf(row) : undefined;
    const user: PolicyUser = {
      id: known?.id ?? null,
      userPrincipalName: known?.userPrincipalName ?? request.userPrincipalName ?? '',
      // A given display name replaces the stored one: "would this password pass after a rename?"
      displayName: request.displayName ?? known?.displayName ?? '',
      givenName: known?.givenName ?? null,
      surname: known?.surname ?? null,
      passwordPolicies: known?.passwordPolicies ?? null,
      forceChangePasswordNextSignIn: known?.forceChangePasswordNextSignIn ?? false,
      lastPasswordChangeDateTime: known?.lastPasswordChangeDateTime ?? null,
    };
    const settings = await deps.settings.getPolicySettings();
    const withHistory = request.checkHistory === true;
    const input = await inputFor('evaluate', user, request.password, settings, { withHistory });
    let evaluation = withHistory ? await engine.evaluate(input) : engine.evaluateWithoutHistory(input);
    if (withHistory && row) evaluation = await withoutCurrentPassword(evaluation, row.id, request.password);
    const historyChecked = withHistory ? (input.history?.hashes.length ?? 0) : 0;

    if (withHistory && row) {
      const reused = evaluation.failures.some((failure) => failure.rule === 'history');
      await recordAudit(
        db.kysely,
        tenantId,
        context,
        {
          activity: 'evaluatePasswordAgainstHistory',
          result: 'success',
          resultReason: reused
            ? "The password given is one of the user's recent passwords."
            : "The password given is none of the user's recent passwords.",
          targets: [
            {
              id: row.id,
              displayName: row.display_name,
              userPrincipalName: row.user_principal_name,
            },
          ],
          additionalDetails: [
            { key: 'historyEntriesCompared', value: String(historyChecked) },
            { key: 'matchedHistory', value: String(reused) },
          ],
        },
        clock.now().toISOString(),
      );
    }
    return {
      ...evaluation,
      user:
        request.userId === undefined && request.userPrincipalName === undefined
          ? null
          : {
              id: user.id,
              userPrincipalName: row?.user_principal_name ?? user.userPrincipalName,
              exists: !!row,
            },
      historyChecked,
    };
  }

  /**
   * When `user`'s password expires under the tenant's policy, and whether it has (sign-in then
   * answers 50055) or is in the warning window.
   */
  async function expiryOf(user: {
    readonly passwordPolicies: string | null;
    readonly lastPasswordChangeDateTime: string | null;
  }): Promise<PasswordExpiry> {
    const settings = await deps.settings.getPolicySettings();
    return passwordExpiry(settings.passwordPolicy, user, clock.now());
  }

  return { assertAcceptable, generateAcceptable, recordAuditOnly, evaluate, expiryOf };
}
