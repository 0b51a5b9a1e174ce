import { randomUUID } from 'node:crypto';
import { failureReason, recordAudit } from '../audit/audit-service.js';
import type { PasswordCheck } from '../auth/password-check.js';
import { answeredOutcome, type SignInErrorDisclosure } from '../auth/sign-in-disclosure.js';
import { type LockDescription, lockLogDetails } from '../lockout/lockout-policy.js';
import { type NewOperation, type OperationEngine, originOf } from '../operations/operation-engine.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import type { OperationKind, PasswordOperationRow, UserRow } from '../platform/db/schema.js';
import { isWriteConflict } from '../platform/db/write-conflict.js';
import { Codes, getCatalogEntry } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { Actor, RequestContext } from '../platform/request-context.js';
import { parseRoles } from '../roles/directory-roles.js';
import { assertMayChangePassword, findUserToActOn } from '../users/authorization.js';
import { findLiveUser, findUserForPasswordCheck, lockUserForChange } from '../users/user-service.js';
import { findCurrentPasswordHash } from './credential-store.js';
import {
  assertPasswordOperationAllowed,
  federatedPasswordRefusal,
  federationOwningPassword,
} from './password-eligibility.js';
import { describeOperationStatus } from './password-mapper.js';
import { auditActivityOf, type OnPremisesWriter, operationSecret } from './password-operation.js';
import { type PasswordPolicyService, policyUserOf } from './password-policy-service.js';
import type { PolicyEvaluation } from './policy/index.js';

export interface PasswordServiceDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly clock: Clock;
  /** The job engine that runs every change and reset as a durable operation. */
  readonly operations: OperationEngine;
  /** The one password check (smart lockout in front of the credential verifier). */
  readonly checkPassword: PasswordCheck;
  /** The password policy every new password must pass. */
  readonly passwordPolicy: PasswordPolicyService;
  /** Which users' changes also write to an on-premises directory (the operation's external step). */
  readonly onPremises?: Pick<OnPremisesWriter, 'appliesTo'> | undefined;
  /** The tenant's `signInErrorDisclosure`: what the expired-password change tells its caller. */
  readonly signInErrorDisclosure: () => Promise<SignInErrorDisclosure>;
}

/**
 * The actor of the expired-or-forced change: the user who is changing their own password. The
 * request carries no token, so there is no application; the audit rows name the user and keep
 * the caller's address, whether the current password was right or not (as the sign-in log names
 * the account a failed sign-in tried).
 */
function selfActor(user: UserRow): Actor {
  return {
    userId: user.id,
    userPrincipalName: user.user_principal_name,
    displayName: user.display_name,
    roles: parseRoles(user.roles),
    appId: '',
    appDisplayName: '',
  };
}

/** The self-service change's answer to each way the current-password check can fail. */
const changeRefusals = {
  unknownUser: Codes.PasswordChangeIncorrectCurrentPassword,
  noPassword: Codes.PasswordChangeIncorrectCurrentPassword,
  wrongPassword: Codes.PasswordChangeIncorrectCurrentPassword,
  locked: Codes.PasswordChangeAccountLocked,
} as const;

/** A change's answer when a synced user's directory refused the current password for a reason other than a wrong one. */
function onPremisesChangeRefusal(signInCode: number) {
  if (
    signInCode === Codes.IdsLocked ||
    signInCode === Codes.UserDisabled ||
    signInCode === Codes.OnPremisePasswordValidationAccountLogonInvalidHours ||
    signInCode === Codes.OnPremisesWorkstationRestricted
  )
    return Codes.PasswordChangeOnPremUserAccountLockedOutOrDisabled;
  if (
    signInCode === Codes.OnPremiseStoreIsNotAvailable ||
    signInCode === Codes.OnPremisePasswordValidatorRequestTimedout
  )
    return Codes.PasswordChangeOnPremisesConnectivityFailure;
  return Codes.PasswordChangeADAdminActionRequired;
}

/**
 * The ids of the policy rules a refused password failed (`history,length`), as an audit detail, so
 * the troubleshooter can name them later: only the rule ids, never the password or what matched.
 */
function failedRulesOf(error: RekeyError): Array<{ key: string; value: string }> {
  const failures = error.details?.['failures'];
  if (!Array.isArray(failures)) return [];
  const rules = failures
    .map((failure: unknown) =>
      typeof failure === 'object' && failure !== null && 'rule' in failure ? String(failure.rule) : '',
    )
    .filter((rule) => rule !== '');
  return rules.length === 0 ? [] : [{ key: 'failedRules', value: [...new Set(rules)].join(',') }];
}

export type PasswordService = ReturnType<typeof createPasswordService>;

/**
 * Password changes and resets: who may ask, whether the new password is acceptable, and the
 * operation that carries it out. A change is decided here; the operation's steps
 * (`password-operation.ts`) apply it, exactly once.
 */
export function createPasswordService(deps: PasswordServiceDeps) {
  const { db, tenantId, clock, operations, passwordPolicy } = deps;

  function newOperation(
    context: RequestContext,
    user: UserRow,
    kind: OperationKind,
    options: {
      readonly forceChange: boolean;
      readonly idempotency?: { readonly key: string; readonly fingerprint: string } | undefined;
    },
  ): NewOperation {
    return {
      id: randomUUID(),
      tenant_id: tenantId,
      user_id: user.id,
      kind,
      requested_by_user_id: context.actor?.userId ?? null,
      // The expired change has a user but no application: stored as none rather than ''.
      requested_by_app_id: context.actor?.appId || null,
      correlation_id: context.correlationId,
      idempotency_key: options.idempotency?.key ?? null,
      idempotency_fingerprint: options.idempotency?.fingerprint ?? null,
      force_change: options.forceChange ? 1 : 0,
      created_at: clock.now().toISOString(),
    };
  }

  /** A refused change or reset as a failure row; written on its own, nothing rolls back with it. */
  async function auditFailure(
    context: RequestContext,
    user: UserRow,
    kind: OperationKind,
    error: RekeyError,
    additionalDetails: ReadonlyArray<{ readonly key: string; readonly value: string }> = [],
  ) {
    await recordAudit(
      db.kysely,
      tenantId,
      context,
      {
        activity: auditActivityOf(kind),
        result: 'failure',
        resultReason: failureReason(error),
        targets: [
          {
            id: user.id,
            displayName: user.display_name,
            userPrincipalName: user.user_principal_name,
          },
        ],
        additionalDetails: [...failedRulesOf(error), ...additionalDetails],
      },
      clock.now().toISOString(),
    );
  }

  /**
   * Refuses, with its failure audit row, a change or reset that federation or licences forbid
   * (120012, 7701006, 7701007; see password-eligibility.ts).
   */
  async function assertAllowed(context: RequestContext, user: UserRow, kind: OperationKind): Promise<void> {
    try {
      await assertPasswordOperationAllowed(db.kysely, tenantId, user, kind);
    } catch (error) {
      if (error instanceof RekeyError) await auditFailure(context, user, kind, error);
      throw error;
    }
  }

  /** Curried for findUserToActOn: a refused reset (own account, privileged target) as a failure row. */
  function auditRefusal(context: RequestContext): (target: UserRow, error: RekeyError) => Promise<void> {
    return (target, error) => auditFailure(context, target, 'adminReset', error);
  }

  /** Records, with the operation, that its password passed only because Password Protection audits. */
  function recordAuditOnly(
    context: RequestContext,
    target: UserRow,
    kind: OperationKind,
    evaluation: PolicyEvaluation,
  ) {
    return (trx: Parameters<PasswordPolicyService['recordAuditOnly']>[0]) =>
      passwordPolicy.recordAuditOnly(
        trx,
        context,
        { id: target.id, displayName: target.display_name, userPrincipalName: target.user_principal_name },
        kind === 'adminReset' ? 'reset' : 'change',
        evaluation,
      );
  }

  /**
   * Raises what a waiting caller is answered when their operation did not succeed: 120008 with
   * the underlying cause beside it (`causeCode`) when it ended terminated, or 7700902 (503) with
   * the operation's id and when to look again while it is still going.
   */
  function assertSucceeded(row: PasswordOperationRow): void {
    if (row.state === 'succeeded') return;
    if (row.state === 'terminated') {
      throw new RekeyError(Codes.PasswordChangeAsyncJobStateTerminated, {
        details: {
          operationId: row.id,
          state: row.state,
          cause: row.error_code,
          ...(row.error_code === null ? {} : { causeCode: row.error_code }),
          statusDetail: describeOperationStatus(row),
        },
      });
    }
    throw new RekeyError(Codes.PasswordOperationStillRunning, {
      details: {
        operationId: row.id,
        userId: row.user_id,
        state: row.state,
        retryAfterSeconds: retryAfterOf(row),
        statusDetail: describeOperationStatus(row),
      },
    });
  }

  /** Whole seconds until an operation still going is worth reading again (at least one). */
  function retryAfterOf(row: PasswordOperationRow): number {
    const dueIn =
      row.state === 'retryScheduled' ? (Date.parse(row.next_attempt_at) - clock.now().getTime()) / 1000 : 1;
    return Math.max(1, Math.ceil(dueIn));
  }

  /**
   * The guard of a user's own change, in the transaction that records it: the user's row is locked,
   * so a second change for the same user waits here; it is refused with 7700901 when the password
   * it checked the current one against has been replaced meanwhile, or while another operation of
   * the user may still apply. One of two concurrent changes proceeds; the other is refused.
   */
  function serialiseChange(user: UserRow & { readonly password_hash: string | null }) {
    return async (trx: Parameters<typeof lockUserForChange>[0]) => {
      await lockUserForChange(trx, tenantId, user.id);
      if ((await findCurrentPasswordHash(trx, user.id)) !== user.password_hash)
        throw new RekeyError(Codes.PasswordOperationInProgress);
      await operations.assertNoUnfinishedOperation(trx, user.id);
    };
  }

  /**
   * A user changes their own password, knowing the current one. Completed before returning for
   * cloud-only users; the operation record keeps the history either way.
   */
  async function changeOwnPassword(
    context: RequestContext,
    userId: string,
    input: {
      readonly currentPassword: string;
      readonly newPassword: string;
      readonly kind: 'selfChange' | 'expiredChange';
    },
  ): Promise<PasswordOperationRow> {
    const user = await findUserForPasswordCheck(db.kysely, tenantId, { id: userId });
    if (!user) throw new RekeyError(Codes.ResourceNotFound);
    return changeCheckedPassword(context, user, input);
  }

  async function changeCheckedPassword(
    context: RequestContext,
    user: UserRow & { readonly password_hash: string | null },
    input: {
      readonly currentPassword: string;
      readonly newPassword: string;
      readonly kind: 'selfChange' | 'expiredChange';
    },
  ): Promise<PasswordOperationRow> {
    assertMayChangePassword(context.actor, user.id);
    // A signed-in user is told at once when the password is not Rekey's to change (federation) or
    // its writeback is not licensed; the expired change, which proves nothing yet, is told after
    // the current password is checked (and its federation by the domain, changeExpiredPassword).
    if (input.kind === 'selfChange') await assertAllowed(context, user, input.kind);
    // A locked account cannot change its password: refused before the current password is
    // checked, so a lock also stops guessing through the change endpoints; a wrong current
    // password counts toward the lock like a wrong sign-in.
    const checked = await deps.checkPassword(
      user,
      input.currentPassword,
      context.ipAddress,
      context.correlationId,
    );
    // A synced user's directory refused the sign-in: with the password proven (expired, or to be
    // changed after a reset) the change is just what it asks for; otherwise it is refused.
    if (checked.outcome === 'onPremisesRefused' && !checked.passwordProven) {
      const error = new RekeyError(onPremisesChangeRefusal(checked.error.code), {
        message: `${getCatalogEntry(onPremisesChangeRefusal(checked.error.code)).message} The directory said: ${checked.onPremisesCause}.`,
      });
      await auditFailure(context, user, input.kind, error);
      throw error;
    }
    if (checked.outcome !== 'verified' && checked.outcome !== 'onPremisesRefused') {
      const error = new RekeyError(changeRefusals[checked.outcome]);
      const lock: LockDescription | undefined = checked.outcome === 'locked' ? checked.lock : undefined;
      // The expired change has no token: its caller has proven nothing, so the lock is told as
      // the token endpoint tells it (signInErrorDisclosure). A signed-in user's own change is
      // told the lock: the token already proves who they are.
      const answered =
        input.kind === 'expiredChange'
          ? new RekeyError(changeRefusals[answeredOutcome(await deps.signInErrorDisclosure(), checked)])
          : error;
      // The caller learns at most that the account is locked; the audit log keeps the true reason
      // and says which counter and until when, for administrators.
      await auditFailure(context, user, input.kind, error, [
        ...(lock ? [{ key: 'smartLockout', value: lockLogDetails(lock) }] : []),
        ...(answered.code !== error.code
          ? [{ key: 'answeredCode', value: `${answered.code} (signInErrorDisclosure is uniform)` }]
          : []),
      ]);
      throw answered;
    }
    if (input.kind === 'expiredChange' && user.account_enabled !== 1)
      throw new RekeyError(Codes.UserDisabled);
    const operation = newOperation(context, user, input.kind, { forceChange: false });
    // The current password travels too, sealed, for a directory write that binds as the user.
    const secret = operationSecret({
      newPassword: input.newPassword,
      currentPassword: input.currentPassword,
    });
    const external = deps.onPremises?.appliesTo(user) ?? false;
    // With the current password proven, a cloud user's new password is hashed on the thread pool
    // while the checks below run here, rather than after them. A password they then refuse costs
    // one hash, and only to a caller who knew the current password.
    const begun = external ? undefined : operations.begin(operation, secret, originOf(context));
    if (input.kind === 'expiredChange') await assertAllowed(context, user, input.kind);
    let evaluation: PolicyEvaluation;
    try {
      evaluation = await passwordPolicy.assertAcceptable('change', policyUserOf(user), input.newPassword, {
        currentPassword: input.currentPassword,
      });
    } catch (error) {
      if (error instanceof RekeyError) await auditFailure(context, user, input.kind, error);
      throw error;
    }
    let finished: PasswordOperationRow;
    try {
      finished = await operations.runNow(operation, secret, originOf(context), {
        guard: serialiseChange(user),
        alsoCommit: recordAuditOnly(context, user, input.kind, evaluation),
        external,
        begun,
      });
    } catch (error) {
      if (error instanceof RekeyError && error.code === Codes.PasswordOperationInProgress)
        await auditFailure(context, user, input.kind, error);
      throw error;
    }
    assertSucceeded(finished);
    return finished;
  }

  /** The expired-or-forced change: signs in by user name and current password, then changes. */
  async function changeExpiredPassword(
    context: RequestContext,
    input: {
      readonly userPrincipalName: string;
      readonly currentPassword: string;
      readonly newPassword: string;
    },
  ): Promise<PasswordOperationRow> {
    const user = await findUserForPasswordCheck(db.kysely, tenantId, { upn: input.userPrincipalName });
    // A federated domain's password is its identity provider's, whoever asks: decided by the
    // domain, with the same hashing time as any other answer, so it tells nobody who exists.
    const federation = await federationOwningPassword(db.kysely, tenantId, input.userPrincipalName, user);
    if (federation) {
      await deps.checkPassword(undefined, input.currentPassword, context.ipAddress);
      const error = federatedPasswordRefusal(input.userPrincipalName, federation);
      if (user) await auditFailure({ ...context, actor: selfActor(user) }, user, 'expiredChange', error);
      throw error;
    }
    if (!user) {
      // Same answer, and the same hashing time, as a wrong password, so this endpoint does not
      // reveal which accounts exist.
      await deps.checkPassword(undefined, input.currentPassword, context.ipAddress);
      throw new RekeyError(Codes.PasswordChangeIncorrectCurrentPassword);
    }
    return changeCheckedPassword({ ...context, actor: selfActor(user) }, user, {
      ...input,
      kind: 'expiredChange',
    });
  }

  /**
   * An administrator resets another user's password (Graph resetPassword). Returns the accepted
   * operation at once; a worker completes it. Without `newPassword` one is generated and returned.
   */
  async function resetPassword(
    context: RequestContext,
    targetId: string,
    input: { readonly newPassword: string | undefined; readonly idempotencyKey: string | undefined },
  ): Promise<{ operation: PasswordOperationRow; generatedPassword: string | undefined }> {
    const target = await findUserToActOn(
      db,
      tenantId,
      context,
      targetId,
      'resetPassword',
      auditRefusal(context),
    );
    await assertAllowed(context, target, 'adminReset');
    // What the request asked for, fingerprinted (keyed, never stored in clear) so that the same
    // key with another password is refused rather than answered with the first operation.
    const idempotency = input.idempotencyKey
      ? {
          key: input.idempotencyKey,
          fingerprint: operations.fingerprintRequest({ newPassword: input.newPassword ?? null }),
        }
      : undefined;
    if (idempotency) {
      const earlier = await operations.findByIdempotencyKey(
        target.id,
        idempotency.key,
        idempotency.fingerprint,
      );
      if (earlier) return { operation: earlier, generatedPassword: undefined };
    }
    const { password, evaluation } = await acceptableResetPassword(context, target, input.newPassword);
    let row: PasswordOperationRow;
    try {
      row = await db.kysely.transaction().execute(async (trx) => {
        const accepted = await operations.accept(
          trx,
          newOperation(context, target, 'adminReset', { forceChange: true, idempotency }),
          password,
        );
        await recordAuditOnly(context, target, 'adminReset', evaluation)(trx);
        return accepted;
      });
    } catch (error) {
      // Two requests with one Idempotency-Key raced past the look-up; the unique index let one
      // insert win, and the other answers with the winner's operation.
      const earlier =
        idempotency && isWriteConflict(error, 'uniqueViolation')
          ? await operations.findByIdempotencyKey(target.id, idempotency.key, idempotency.fingerprint)
          : undefined;
      if (earlier) return { operation: earlier, generatedPassword: undefined };
      throw error;
    }
    operations.accepted(row.id);
    return { operation: row, generatedPassword: input.newPassword === undefined ? password : undefined };
  }

  /**
   * An administrator's reset that is finished before it returns, for PATCH /users/{id} with a
   * `passwordProfile.password` and for `rekey users set-password`: the same policy check, audit
   * and session revocation as resetPassword, judged by the same reset table. A context without an
   * actor is the operator at the CLI, who holds the database.
   */
  async function resetPasswordNow(
    context: RequestContext,
    targetId: string,
    input: { readonly newPassword: string | undefined; readonly forceChange: boolean },
  ): Promise<{ operation: PasswordOperationRow; generatedPassword: string | undefined }> {
    const target = await findUserToActOn(
      db,
      tenantId,
      context,
      targetId,
      'resetPassword',
      auditRefusal(context),
    );
    await assertAllowed(context, target, 'adminReset');
    const { password, evaluation } = await acceptableResetPassword(context, target, input.newPassword);
    const finished = await operations.runNow(
      newOperation(context, target, 'adminReset', { forceChange: input.forceChange }),
      password,
      originOf(context),
      {
        alsoCommit: recordAuditOnly(context, target, 'adminReset', evaluation),
        external: deps.onPremises?.appliesTo(target),
      },
    );
    assertSucceeded(finished);
    return {
      operation: finished,
      generatedPassword: input.newPassword === undefined ? password : undefined,
    };
  }

  /**
   * The reset's password (the one given, or a generated one) once it passes the policy as a
   * `reset`: history to `historyCountOnReset`, no minimum age.
   */
  async function acceptableResetPassword(
    context: RequestContext,
    target: UserRow,
    newPassword: string | undefined,
  ): Promise<{ readonly password: string; readonly evaluation: PolicyEvaluation }> {
    try {
      if (newPassword === undefined)
        return await passwordPolicy.generateAcceptable(policyUserOf(target), 'reset');
      const evaluation = await passwordPolicy.assertAcceptable('reset', policyUserOf(target), newPassword);
      return { password: newPassword, evaluation };
    } catch (error) {
      if (error instanceof RekeyError) await auditFailure(context, target, 'adminReset', error);
      throw error;
    }
  }

  /**
   * An operation of a user named by object id or user principal name, for Graph's operations
   * endpoint; 404 when the operation is not that user's.
   */
  async function getOperation(userIdOrUpn: string, operationId: string): Promise<PasswordOperationRow> {
    const userId = userIdOrUpn.includes('@')
      ? (await findLiveUser(db.kysely, tenantId, { upn: userIdOrUpn }))?.id
      : userIdOrUpn;
    const row = await operations.getOperation(operationId);
    if (!row || userId === undefined || row.user_id !== userId)
      throw new RekeyError(Codes.ResourceNotFound, { details: { id: operationId } });
    return row;
  }

  return {
    changeOwnPassword,
    changeExpiredPassword,
    resetPassword,
    resetPasswordNow,
    getOperation,
  };
}
