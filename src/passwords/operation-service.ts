import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type AuditEntry, failureReason, insertAudit } from '../audit/audit-store.js';
import { type LockDescription, lockLogDetails } from '../lockout/lockout-policy.js';
import { describeClearedLockout, type LockoutService } from '../lockout/lockout-service.js';
import { resetLockoutStates } from '../lockout/lockout-store.js';
import type { Clock } from '../platform/clock.js';
import type { PasswordHasher } from '../platform/crypto/password-hasher.js';
import type { SecretBox } from '../platform/crypto/secret-box.js';
import type { Db } from '../platform/db/database.js';
import type { Database, OperationKind, PasswordOperationRow, UserRow } from '../platform/db/schema.js';
import { findCatalogEntry, getCatalogEntry } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { Logger } from '../platform/log.js';
import type { Actor, RequestContext } from '../platform/request-context.js';
import { parseRoles } from '../roles/directory-roles.js';
import { findApplication } from '../tenant/tenant-store.js';
import { assertResetStillAllowed, findUserToActOn, targetRefusal } from '../users/authorization.js';
import {
  addPasswordHistory,
  findUserById,
  findUserByUpn,
  getForPasswordCheck,
  revokeSessions,
  trimPasswordHistory,
  updateUser,
  upsertCredential,
} from '../users/user-store.js';
import {
  abandonOperation,
  claimOperation,
  findOperation,
  findOperationByIdempotencyKey,
  insertOperation,
  listDueOperationIds,
  transitionOperation,
} from './operation-store.js';
import { type PasswordPolicyService, policyUserOf } from './password-policy-service.js';
import type { PolicyEvaluation } from './policy/index.js';

export interface OperationServiceDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly hasher: PasswordHasher;
  readonly secretBox: SecretBox;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The password policy every new password must pass. */
  readonly passwordPolicy: PasswordPolicyService;
  /** Smart lockout: a wrong current password on a change counts, and a locked account cannot change. */
  readonly lockout: Pick<LockoutService, 'open' | 'recordFailure' | 'recordSuccess'>;
  /** Asked to run soon after a new operation is committed (the in-process worker's nudge). */
  readonly onEnqueued?: (operationId: string) => void;
}

/** How long one attempt may hold an operation before another worker may take it over. */
const leaseSeconds = 30;
/** How long an operation may keep retrying before it is terminated. */
const deadlineSeconds = 15 * 60;
/**
 * Password history entries kept per user: the most either history setting (historyCountOnChange,
 * historyCountOnReset) can ask for, so raising a setting finds the history already there.
 */
const historyDepth = 24;

const audits: Record<OperationKind, Pick<AuditEntry, 'activityDisplayName' | 'loggedByService'>> = {
  selfChange: {
    activityDisplayName: 'Change password (self-service)',
    loggedByService: 'Self-service Password Management',
  },
  expiredChange: {
    activityDisplayName: 'Change password (self-service)',
    loggedByService: 'Self-service Password Management',
  },
  adminReset: {
    activityDisplayName: 'Reset password (by admin)',
    loggedByService: 'Self-service Password Management',
  },
  selfServiceReset: {
    activityDisplayName: 'Reset password (self-service)',
    loggedByService: 'Self-service Password Management',
  },
};

/** The operations that end a smart lockout when they complete. */
const resets: ReadonlySet<OperationKind> = new Set(['adminReset', 'selfServiceReset']);

/** Graph's `longRunningOperation` status of an operation state. */
export function graphOperationStatus(
  row: PasswordOperationRow,
): 'notStarted' | 'running' | 'succeeded' | 'failed' {
  switch (row.state) {
    case 'notStarted':
      return 'notStarted';
    case 'running':
    case 'retryScheduled':
      return 'running';
    case 'succeeded':
      return 'succeeded';
    case 'terminated':
      return 'failed';
    default: {
      const unreachable: never = row.state;
      return unreachable;
    }
  }
}

/** The `statusDetail` text: for a failure, the terminating code and the underlying cause. */
export function describeOperationStatus(row: PasswordOperationRow): string | null {
  if (row.state === 'terminated' && row.error_code !== null) {
    const cause = findCatalogEntry(row.error_code);
    return `AADSTS120008 PasswordChangeAsyncJobStateTerminated; cause AADSTS${row.error_code} ${cause?.name ?? ''}: ${row.error_detail ?? cause?.message ?? ''}`.trim();
  }
  if (row.state === 'retryScheduled' && row.error_code !== null) {
    return `retry ${row.attempts} scheduled for ${row.next_attempt_at} after AADSTS${row.error_code}: ${row.error_detail ?? ''}`;
  }
  return null;
}

/**
 * The user an administrator may reset, or a 403/404; `onRefused` hears the refusals that concern
 * a known user (their own account, a target beyond the actor's roles) so the caller can audit
 * them. The rules are the authorization module's (src/users/authorization.ts).
 */
export function findResetTarget(
  db: Db,
  tenantId: string,
  context: RequestContext,
  targetId: string,
  onRefused?: (target: UserRow, error: RekeyError) => Promise<void>,
): Promise<UserRow> {
  return findUserToActOn(db, tenantId, context, targetId, 'resetPassword', onRefused);
}

/**
 * The refusal when someone holding `roles` resets `target`, whose roles the reset table does not
 * let them reach; undefined when allowed. The rules are the authorization module's.
 */
export function privilegedTargetRefusal(
  roles: readonly string[],
  target: UserRow,
  message?: string,
): RekeyError | undefined {
  return targetRefusal('resetPassword', roles, target, message);
}

/**
 * Whoever asked for an operation, as the actor of the audit rows written when it ends: the
 * operation row keeps only their ids, so the user and application are read back. A requester
 * deleted since is still named; without a requesting user (the CLI), Rekey itself is.
 */
async function requesterOf(
  db: Kysely<Database>,
  tenantId: string,
  operation: PasswordOperationRow,
): Promise<Actor | undefined> {
  const user = operation.requested_by_user_id
    ? await findUserById(db, tenantId, operation.requested_by_user_id, { includeDeleted: true })
    : undefined;
  if (!user) return undefined;
  const app = operation.requested_by_app_id
    ? await findApplication(db, tenantId, operation.requested_by_app_id)
    : undefined;
  return {
    userId: user.id,
    userPrincipalName: user.user_principal_name,
    displayName: user.display_name,
    roles: parseRoles(user.roles),
    appId: operation.requested_by_app_id ?? '',
    appDisplayName: app?.displayName ?? '',
  };
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

/** Where the request that runs an operation inline came from; the worker has no such request. */
type Origin = Pick<RequestContext, 'ipAddress' | 'userAgent'>;

const workerOrigin: Origin = { ipAddress: '127.0.0.1', userAgent: undefined };

export type OperationService = ReturnType<typeof createOperationService>;

/**
 * Password operations: the durable, exactly-once jobs behind every password change and reset.
 * An operation is inserted in the transaction that accepts the request, then run through its
 * steps by whoever holds its lease: the request itself for a cloud-only change, or a worker.
 */
export function createOperationService(deps: OperationServiceDeps) {
  const { db, tenantId, hasher, secretBox, clock, logger, passwordPolicy } = deps;
  const owner = `worker-${randomUUID()}`;
  /** Verified against for unknown users, so they cost the same time as known ones. */
  let dummyHash: Promise<string> | undefined;

  function newOperation(
    context: RequestContext,
    user: UserRow,
    kind: OperationKind,
    password: string,
    options: { readonly forceChange: boolean; readonly idempotencyKey?: string | undefined },
  ): PasswordOperationRow {
    const now = clock.now();
    return {
      id: randomUUID(),
      tenant_id: tenantId,
      user_id: user.id,
      kind,
      requested_by_user_id: context.actor?.userId ?? null,
      // The expired change has a user but no application: stored as none rather than ''.
      requested_by_app_id: context.actor?.appId || null,
      correlation_id: context.correlationId,
      idempotency_key: options.idempotencyKey ?? null,
      state: 'notStarted',
      step: 'accepted',
      attempts: 0,
      next_attempt_at: now.toISOString(),
      deadline_at: new Date(now.getTime() + deadlineSeconds * 1000).toISOString(),
      lease_owner: null,
      lease_expires_at: null,
      error_code: null,
      error_retryable: null,
      error_detail: null,
      secret_ciphertext: secretBox.seal(password),
      force_change: options.forceChange ? 1 : 0,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      completed_at: null,
    };
  }

  async function auditFailure(
    context: RequestContext,
    user: UserRow,
    kind: OperationKind,
    error: RekeyError,
    additionalDetails: ReadonlyArray<{ readonly key: string; readonly value: string }> = [],
  ) {
    await insertAudit(
      db.kysely,
      tenantId,
      context,
      {
        ...audits[kind],
        category: 'UserManagement',
        operationType: 'Update',
        result: 'failure',
        resultReason: failureReason(error),
        targets: [
          {
            id: user.id,
            displayName: user.display_name,
            type: 'User',
            userPrincipalName: user.user_principal_name,
          },
        ],
        additionalDetails,
      },
      clock.now().toISOString(),
    );
  }

  /** Curried for findResetTarget: a refused reset (own account, privileged target) as a failure row. */
  function auditRefusal(context: RequestContext): (target: UserRow, error: RekeyError) => Promise<void> {
    // Written on its own, outside any transaction: nothing is rolled back with the refusal.
    return (target, error) => auditFailure(context, target, 'adminReset', error);
  }

  /**
   * Records that an operation ended without changing the password, in the transaction that ends
   * it: "failed" with 120008 as Graph's operation says, the cause in the details, under the
   * operation's correlation ID and attributed to whoever asked for it (as its success would be).
   */
  async function auditTerminated(
    trx: Kysely<Database>,
    operation: PasswordOperationRow,
    origin: Origin,
    cause: { readonly code: number; readonly detail: string | null },
    at: string,
  ): Promise<void> {
    const user = await findUserById(trx, tenantId, operation.user_id, { includeDeleted: true });
    const terminated = getCatalogEntry(120008);
    const causeEntry = findCatalogEntry(cause.code);
    await insertAudit(
      trx,
      tenantId,
      {
        correlationId: operation.correlation_id,
        ...origin,
        actor: await requesterOf(trx, tenantId, operation),
      },
      {
        ...audits[operation.kind],
        category: 'UserManagement',
        operationType: 'Update',
        result: 'failure',
        resultReason: failureReason(terminated),
        targets: [
          {
            id: operation.user_id,
            displayName: user?.display_name ?? null,
            type: 'User',
            userPrincipalName: user?.user_principal_name ?? null,
          },
        ],
        additionalDetails: [
          { key: 'operationId', value: operation.id },
          { key: 'causeCode', value: `AADSTS${cause.code}` },
          { key: 'causeName', value: causeEntry?.name ?? '' },
          { key: 'causeDetail', value: cause.detail ?? causeEntry?.message ?? '' },
        ],
      },
      at,
    );
  }

  /**
   * Runs one attempt of an operation, if its lease can be taken. Every step is safe to repeat:
   * the cloud commit happens in one transaction together with the state change, guarded by the
   * lease, so a worker that dies at any point leaves the operation to be finished exactly once.
   */
  async function runOperation(
    operationId: string,
    origin: Origin = workerOrigin,
  ): Promise<PasswordOperationRow | undefined> {
    const now = clock.now();
    // Each attempt holds the lease under its own name: an attempt whose lease lapsed and was taken
    // over, even by this same process, can then never move the operation after its successor.
    const attemptOwner = `${owner}:${randomUUID().slice(0, 8)}`;
    const claimed = await db.kysely
      .transaction()
      .execute((trx) =>
        claimOperation(
          trx,
          operationId,
          attemptOwner,
          now.toISOString(),
          new Date(now.getTime() + leaseSeconds * 1000).toISOString(),
        ),
      );
    if (!claimed) return findOperation(db.kysely, tenantId, operationId);
    const operation = await findOperation(db.kysely, tenantId, operationId);
    if (!operation) return undefined;
    try {
      const user = await findUserById(db.kysely, tenantId, operation.user_id);
      if (!user) throw new RekeyError(7700105);
      if (operation.secret_ciphertext === null)
        throw new RekeyError(120020, { message: 'The operation lost its new password.' });
      if (new Date(operation.deadline_at) < clock.now()) {
        // Keep what the last attempt failed with: that, not the clock, is what an admin must fix.
        const last =
          operation.error_code === null
            ? ''
            : ` after AADSTS${operation.error_code}: ${operation.error_detail ?? ''}`;
        throw new RekeyError(120020, { message: `The operation passed its deadline${last}.` });
      }
      const passwordHash = await hasher.hash(secretBox.open(operation.secret_ciphertext));
      const at = clock.now().toISOString();
      const committed = await db.kysely.transaction().execute(async (trx) => {
        const moved = await transitionOperation(trx, operation.id, attemptOwner, {
          state: 'succeeded',
          step: 'completed',
          at,
          error: null,
        });
        if (!moved) return false;
        await assertResetStillAllowed(trx, db, tenantId, operation);
        await upsertCredential(trx, user.id, passwordHash, at);
        await addPasswordHistory(trx, user.id, passwordHash, at);
        await trimPasswordHistory(trx, user.id, historyDepth);
        await updateUser(trx, user.id, {
          last_password_change_at: at,
          force_change_password_next_sign_in: operation.force_change,
          force_change_password_next_sign_in_with_mfa: 0,
          updated_at: at,
        });
        await revokeSessions(trx, user.id, at);
        // A reset ends any smart lockout and restarts its counts: the old password, and every
        // wrong guess at it, no longer matter.
        const lockoutDetails = resets.has(operation.kind)
          ? [
              {
                key: 'smartLockout',
                value: describeClearedLockout(await resetLockoutStates(trx, user.id, at), new Date(at)),
              },
            ]
          : [];
        await insertAudit(
          trx,
          tenantId,
          {
            correlationId: operation.correlation_id,
            ...origin,
            actor: await requesterOf(trx, tenantId, operation),
          },
          {
            ...audits[operation.kind],
            category: 'UserManagement',
            operationType: 'Update',
            result: 'success',
            targets: [
              {
                id: user.id,
                displayName: user.display_name,
                type: 'User',
                userPrincipalName: user.user_principal_name,
              },
            ],
            additionalDetails: [{ key: 'operationId', value: operation.id }, ...lockoutDetails],
          },
          at,
        );
        return true;
      });
      if (!committed)
        logger.warn({ operationId }, 'lost the lease on a password operation; another worker finishes it');
    } catch (error) {
      const rekeyError = error instanceof RekeyError ? error : new RekeyError(120020, { cause: error });
      if (!(error instanceof RekeyError))
        logger.error({ err: error, operationId }, 'password operation step failed');
      const at = clock.now();
      const retry = rekeyError.entry.retryable && at < new Date(operation.deadline_at);
      // Exponential backoff with jitter: between half and all of 2^attempt seconds, at most five
      // minutes. Half is kept so a retry never comes at once (full jitter can draw zero).
      const base = Math.min(300, 2 ** operation.attempts) * 1000;
      const delay = base / 2 + Math.random() * (base / 2);
      const change = {
        state: retry ? ('retryScheduled' as const) : ('terminated' as const),
        step: 'commitCloud',
        at: at.toISOString(),
        nextAttemptAt: new Date(at.getTime() + delay).toISOString(),
        error: { code: rekeyError.code, retryable: rekeyError.entry.retryable, detail: rekeyError.message },
      };
      if (retry) await transitionOperation(db.kysely, operation.id, attemptOwner, change);
      else {
        // The end and its audit row commit together: a lost lease writes neither.
        await db.kysely.transaction().execute(async (trx) => {
          if (!(await transitionOperation(trx, operation.id, attemptOwner, change))) return;
          await auditTerminated(trx, operation, origin, change.error, change.at);
        });
      }
    }
    return findOperation(db.kysely, tenantId, operationId);
  }

  /**
   * Commits a new operation and, when its password passed only because Password Protection is in
   * Audit mode, the record of that, in the same transaction.
   */
  async function enqueue(
    context: RequestContext,
    row: PasswordOperationRow,
    target: UserRow,
    evaluation: PolicyEvaluation,
  ): Promise<void> {
    await db.kysely.transaction().execute(async (trx) => {
      await insertOperation(trx, row);
      await passwordPolicy.recordAuditOnly(
        trx,
        context,
        { id: target.id, displayName: target.display_name, userPrincipalName: target.user_principal_name },
        row.kind === 'adminReset' ? 'reset' : 'change',
        evaluation,
      );
    });
  }

  /** Raises the catalog error that a finished self-service operation ended with. */
  function assertSucceeded(row: PasswordOperationRow | undefined): void {
    if (row?.state === 'succeeded') return;
    throw new RekeyError(120008, {
      details: {
        operationId: row?.id,
        state: row?.state,
        cause: row?.error_code,
        statusDetail: row && describeOperationStatus(row),
      },
    });
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
    const user = await getForPasswordCheck(db.kysely, tenantId, { id: userId });
    if (!user) throw new RekeyError(7700008);
    const locked = async (lock: LockDescription): Promise<never> => {
      const error = new RekeyError(7700501);
      // The caller learns only that the account is locked; the audit log says which counter and
      // until when, for administrators.
      await auditFailure(context, user, input.kind, error, [
        { key: 'smartLockout', value: lockLogDetails(lock) },
      ]);
      throw error;
    };
    // A locked account cannot change its password: refused before the current password is
    // checked, so a lock also stops guessing through the change endpoints.
    const { attempt, lock } = await deps.lockout.open(user.id, context.ipAddress);
    if (lock) return locked(lock);
    if (user.password_hash === null) {
      // No password to check: spend the same hashing time as a wrong password anyway, so the
      // answer's timing does not tell an account without a password from one with a wrong guess.
      dummyHash ??= hasher.hash(randomUUID());
      await hasher.verify(await dummyHash, input.currentPassword);
    }
    if (user.password_hash === null || !(await hasher.verify(user.password_hash, input.currentPassword))) {
      const reached =
        user.password_hash === null
          ? undefined
          : await deps.lockout.recordFailure(attempt, input.currentPassword);
      if (reached) return locked(reached);
      const error = new RekeyError(120000);
      await auditFailure(context, user, input.kind, error);
      throw error;
    }
    // The right current password clears this network's failures, unless a lock engaged meanwhile.
    const raced = await deps.lockout.recordSuccess(attempt);
    if (raced) return locked(raced);
    if (input.kind === 'expiredChange' && user.account_enabled !== 1) throw new RekeyError(50057);
    let evaluation: PolicyEvaluation;
    try {
      evaluation = await passwordPolicy.assertAcceptable('change', policyUserOf(user), input.newPassword, {
        currentPassword: input.currentPassword,
      });
    } catch (error) {
      if (error instanceof RekeyError) await auditFailure(context, user, input.kind, error);
      throw error;
    }
    const row = newOperation(context, user, input.kind, input.newPassword, { forceChange: false });
    await enqueue(context, row, user, evaluation);
    const finished = await runInline(row.id, context);
    assertSucceeded(finished);
    return finished ?? row;
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
    const user = await findUserByUpn(db.kysely, tenantId, input.userPrincipalName);
    if (!user) {
      // Same answer, and the same hashing time, as a wrong password, so this endpoint does not
      // reveal which accounts exist.
      dummyHash ??= hasher.hash(randomUUID());
      await hasher.verify(await dummyHash, input.currentPassword);
      throw new RekeyError(120000);
    }
    return changeOwnPassword({ ...context, actor: selfActor(user) }, user.id, {
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
    const target = await findResetTarget(db, tenantId, context, targetId, auditRefusal(context));
    if (input.idempotencyKey) {
      const earlier = await findOperationByIdempotencyKey(db.kysely, target.id, input.idempotencyKey);
      if (earlier) return { operation: earlier, generatedPassword: undefined };
    }
    const { password, evaluation } = await acceptableResetPassword(context, target, input.newPassword);
    const row = newOperation(context, target, 'adminReset', password, {
      forceChange: true,
      idempotencyKey: input.idempotencyKey,
    });
    try {
      await enqueue(context, row, target, evaluation);
    } catch (error) {
      // Two requests with one Idempotency-Key raced past the look-up; the unique index let one
      // insert win, and the other answers with the winner's operation.
      const earlier = input.idempotencyKey
        ? await findOperationByIdempotencyKey(db.kysely, target.id, input.idempotencyKey)
        : undefined;
      if (earlier) return { operation: earlier, generatedPassword: undefined };
      throw error;
    }
    deps.onEnqueued?.(row.id);
    return { operation: row, generatedPassword: input.newPassword === undefined ? password : undefined };
  }

  /**
   * Runs an operation now, for a caller waiting on its outcome; if a polling worker claimed it
   * first, waits (bounded) for that worker to finish. An attempt that ends waiting for a retry is
   * abandoned: the caller is told the change failed, so it must not complete later behind their
   * back (and overwrite a password set since).
   */
  async function runInline(
    operationId: string,
    context: RequestContext,
  ): Promise<PasswordOperationRow | undefined> {
    // The audit rows of an inline run carry the address of the request that ran it.
    const origin: Origin = { ipAddress: context.ipAddress, userAgent: context.userAgent };
    // Wall time, not the injected clock: this bounds a real wait, and tests may freeze the clock.
    const giveUpAt = Date.now() + leaseSeconds * 1000;
    let row = await runOperation(operationId, origin);
    while ((row?.state === 'notStarted' || row?.state === 'running') && Date.now() < giveUpAt) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      row = await runOperation(operationId, origin);
    }
    if (row?.state === 'retryScheduled') {
      const waiting = row;
      const at = clock.now().toISOString();
      await db.kysely.transaction().execute(async (trx) => {
        const abandoned = await abandonOperation(
          trx,
          operationId,
          at,
          'The caller was answered with the failure; not retried.',
        );
        if (!abandoned) return;
        await auditTerminated(
          trx,
          waiting,
          origin,
          { code: waiting.error_code ?? 120020, detail: waiting.error_detail },
          at,
        );
      });
      row = await findOperation(db.kysely, tenantId, operationId);
    }
    return row;
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
    const target = await findResetTarget(db, tenantId, context, targetId, auditRefusal(context));
    const { password, evaluation } = await acceptableResetPassword(context, target, input.newPassword);
    const row = newOperation(context, target, 'adminReset', password, { forceChange: input.forceChange });
    await enqueue(context, row, target, evaluation);
    const finished = await runInline(row.id, context);
    assertSucceeded(finished);
    return {
      operation: finished ?? row,
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

  /** An operation of a user, for Graph's operations endpoint. */
  async function getOperation(userId: string, operationId: string): Promise<PasswordOperationRow> {
    const row = await findOperation(db.kysely, tenantId, operationId);
    if (!row || row.user_id !== userId) throw new RekeyError(7700008, { details: { id: operationId } });
    return row;
  }

  /** Runs every operation that is due now; returns how many were attempted. */
  async function runDueOperations(limit = 20): Promise<number> {
    const ids = await listDueOperationIds(db.kysely, clock.now().toISOString(), limit);
    for (const id of ids) await runOperation(id);
    return ids.length;
  }

  return {
    changeOwnPassword,
    changeExpiredPassword,
    resetPassword,
    resetPasswordNow,
    getOperation,
    runOperation: (operationId: string) => runOperation(operationId),
    runDueOperations,
  };
}
