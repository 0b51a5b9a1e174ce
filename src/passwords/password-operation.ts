import type { Kysely } from 'kysely';
import type { AuditActivityName } from '../audit/audit-activities.js';
import { failureReason, recordAudit } from '../audit/audit-service.js';
import { endLockoutForReset } from '../lockout/lockout-service.js';
import {
  defineJob,
  type OperationStep,
  type Origin,
  type RunnableJob,
} from '../operations/operation-engine.js';
import type { PasswordHasher } from '../platform/crypto/password-hasher.js';
import type { Database, OperationKind, PasswordOperationRow, UserRow } from '../platform/db/schema.js';
import { Codes, findCatalogEntry, getCatalogEntry } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { Actor } from '../platform/request-context.js';
import { parseRoles } from '../roles/directory-roles.js';
import { findClientApplication } from '../tenant/tenant-service.js';
import { assertResetStillAllowed } from '../users/authorization.js';
import {
  findLiveUser,
  findUserForLog,
  lockUserForChange,
  recordPasswordChange,
  revokeUserSessions,
} from '../users/user-service.js';
import { storePasswordHash } from './credential-service.js';
import { assertPasswordOperationAllowed } from './password-eligibility.js';

/** The audit activity of each kind of operation. */
const audits: Record<OperationKind, AuditActivityName> = {
  selfChange: 'changePasswordSelfService',
  expiredChange: 'changePasswordSelfService',
  adminReset: 'resetPasswordByAdmin',
  selfServiceReset: 'resetPasswordSelfService',
};

/** The audit activity of an operation of `kind`. */
export function auditActivityOf(kind: OperationKind): AuditActivityName {
  return audits[kind];
}

/** The operations that end a smart lockout when they complete. */
const resets: ReadonlySet<OperationKind> = new Set(['adminReset', 'selfServiceReset']);

/**
 * The steps of every password operation, in order. Each is safe to repeat: the database steps
 * commit together with the operation's record of having run them.
 *
 * - `validate`: the account still exists, and an administrator's reset is still allowed;
 * - `commitCloud`: the new hash, the history, the password's dates, and the end of a lockout
 *   for a reset;
 * - `revokeSessions`: every token issued before the change stops working.
 *
 * With an OnPremisesWriter, `writeOnPremises` (external) runs between `validate` and
 * `commitCloud` for the users it applies to; `notify` comes last later.
 */
export const passwordSteps = ['validate', 'commitCloud', 'revokeSessions'] as const;

/** What one attempt at a password operation works with. */
interface PasswordWork {
  readonly operation: PasswordOperationRow;
  readonly origin: Origin;
  readonly passwordHash: string;
  /** The new password itself, in memory only, for the directory write. */
  readonly newPassword: string;
  /** A user's own change: the current password, for the directory write that binds as the user. */
  readonly currentPassword: string | undefined;
  /**
   * Read by `validate`, inside the transaction that commits; an attempt that resumes after an
   * external step reads it again (userFor).
   */
  user: UserRow | undefined;
  /** What a reset did to the smart lockout, for the audit row. */
  lockoutCleared: string | undefined;
}

/**
 * Writes a new password to the on-premises directory a user's password also lives in: the hybrid
 * path's external step (`writeOnPremises`), run before the cloud commit. The engine runs it outside
 * any transaction and may run it again after a crash or a retryable failure, so `write` must be
 * safe to repeat (for example: if the new password already binds, it is done).
 */
export interface OnPremisesWriter {
  /** Whether `user`'s password is written to a directory (a synced user whose connector writes back). */
  appliesTo(user: UserRow): boolean;
  /**
   * Writes the password, or throws a RekeyError whose catalog entry says whether retrying can
   * help (120013 retryable; 120004, 120014, 120016 not): the engine retries or terminates by it.
   */
  write(request: {
    readonly operation: PasswordOperationRow;
    readonly user: UserRow;
    readonly newPassword: string;
    /** The user's current password, for a change the user makes (bound as the user); undefined for a reset. */
    readonly currentPassword: string | undefined;
  }): Promise<void>;
}

/** Marks a secret that holds more than the new password; a plain new password never starts with it. */
const secretPrefix = '\u0000rekey-passwords:';

/** The passwords an operation carries in its sealed secret. */
export interface OperationPasswords {
  readonly newPassword: string;
  /** Only for a user's own change, whose directory write binds as the user. */
  readonly currentPassword?: string | undefined;
}

/**
 * The secret an operation is accepted with: the new password alone, or (for a user's own change)
 * both passwords. The engine seals it, and drops it when the operation ends; never log it.
 */
export function operationSecret(passwords: OperationPasswords): string {
  if (passwords.currentPassword === undefined) return passwords.newPassword;
  return `${secretPrefix}${JSON.stringify({ n: passwords.newPassword, c: passwords.currentPassword })}`;
}

/** The passwords in an operation's opened secret (a plain new password from before both were kept, too). */
export function parseOperationSecret(secret: string): OperationPasswords {
  if (!secret.startsWith(secretPrefix)) return { newPassword: secret };
  const parsed = JSON.parse(secret.slice(secretPrefix.length)) as { n?: unknown; c?: unknown };
  if (typeof parsed.n !== 'string') throw new Error('an operation secret without its new password');
  return { newPassword: parsed.n, currentPassword: typeof parsed.c === 'string' ? parsed.c : undefined };
}

export interface PasswordOperationDeps {
  readonly tenantId: string;
  readonly hasher: PasswordHasher;
  /** The directory write of hybrid users; without it, password operations have no external step. */
  readonly onPremises?: OnPremisesWriter | undefined;
}

/**
 * The password operation: what the engine runs for every change and reset. The new password
 * arrives as the operation's secret and is hashed before any transaction begins.
 */
export function createPasswordOperationJob(deps: PasswordOperationDeps): RunnableJob {
  const { tenantId, hasher, onPremises } = deps;

  function userOf(work: PasswordWork): UserRow {
    if (!work.user) throw new Error('the validate step runs first');
    return work.user;
  }

  /**
   * The user the operation changes: as `validate` read it, or, for an attempt that resumed after
   * a checkpoint (past `validate`), read again now.
   */
  async function userFor(work: PasswordWork, db: Kysely<Database>): Promise<UserRow> {
    work.user ??= await findLiveUser(db, tenantId, { id: work.operation.user_id });
    if (!work.user) throw new RekeyError(Codes.DeletedAccount);
    return work.user;
  }

  /**
   * Whoever asked for an operation, as the actor of the audit rows written when it ends. A
   * request that runs the operation knows; for the worker the operation row keeps only their
   * ids, so the user and application are read back. A requester deleted since is still named;
   * without a requesting user (the CLI), Rekey itself is.
   */
  async function requesterOf(
    trx: Kysely<Database>,
    operation: PasswordOperationRow,
    origin: Origin,
  ): Promise<Actor | undefined> {
    if (origin.actor) return origin.actor;
    const user = operation.requested_by_user_id
      ? await findUserForLog(trx, tenantId, operation.requested_by_user_id)
      : undefined;
    if (!user) return undefined;
    const app = operation.requested_by_app_id
      ? await findClientApplication(trx, tenantId, operation.requested_by_app_id)
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
   * The audit row of an operation's end, in the transaction that ends it: under the operation's
   * correlation ID and attributed to whoever asked for it, success or failure alike.
   */
  async function auditEnd(
    trx: Kysely<Database>,
    operation: PasswordOperationRow,
    origin: Origin,
    at: string,
    outcome: {
      readonly result: 'success' | 'failure';
      readonly resultReason?: string;
      readonly target: { readonly displayName: string | null; readonly userPrincipalName: string | null };
      readonly details: ReadonlyArray<{ readonly key: string; readonly value: string }>;
    },
  ): Promise<void> {
    await recordAudit(
      trx,
      tenantId,
      {
        correlationId: operation.correlation_id,
        ipAddress: origin.ipAddress,
        userAgent: origin.userAgent,
        actor: await requesterOf(trx, operation, origin),
      },
      {
        activity: audits[operation.kind],
        result: outcome.result,
        ...(outcome.resultReason === undefined ? {} : { resultReason: outcome.resultReason }),
        targets: [{ id: operation.user_id, ...outcome.target }],
        additionalDetails: [{ key: 'operationId', value: operation.id }, ...outcome.details],
      },
      at,
    );
  }

  const steps: ReadonlyArray<OperationStep<PasswordWork>> = [
    {
      name: 'validate',
      touches: 'database',
      async run(work, trx) {
        const { operation } = work;
        const judged = operation.kind === 'adminReset' && operation.requested_by_user_id !== null;
        // Locked for a reset that is judged: a role assignment to this user waits for this
        // commit, or this commit sees the role.
        work.user = judged
          ? await lockUserForChange(trx, tenantId, operation.user_id)
          : await findLiveUser(trx, tenantId, { id: operation.user_id });
        if (!work.user) throw new RekeyError(Codes.DeletedAccount);
        await assertResetStillAllowed(trx, tenantId, operation, work.user);
        // Federation and licences may have changed since the request was accepted.
        await assertPasswordOperationAllowed(trx, tenantId, work.user, operation.kind);
      },
    },
    ...(onPremises
      ? [
          {
            name: 'writeOnPremises',
            touches: 'external',
            async run(work, db) {
              const user = await userFor(work, db);
              if (!onPremises.appliesTo(user)) return;
              await onPremises.write({
                operation: work.operation,
                user,
                newPassword: work.newPassword,
                currentPassword: work.currentPassword,
              });
            },
          } satisfies OperationStep<PasswordWork>,
        ]
      : []),
    {
      name: 'commitCloud',
      touches: 'database',
      async run(work, trx, at) {
        const user = await userFor(work, trx);
        await storePasswordHash(trx, user.id, work.passwordHash, at);
        await recordPasswordChange(trx, user.id, {
          at,
          forceChangeNextSignIn: work.operation.force_change === 1,
        });
        // A reset ends any smart lockout and restarts its counts: the old password, and every
        // wrong guess at it, no longer matter.
        if (resets.has(work.operation.kind)) {
          work.lockoutCleared = await endLockoutForReset(trx, user.id, at);
        }
      },
    },
    {
      name: 'revokeSessions',
      touches: 'database',
      async run(work, trx, at) {
        await revokeUserSessions(trx, (await userFor(work, trx)).id, at);
      },
    },
  ];

  return defineJob<PasswordWork>({
    ...(onPremises
      ? {
          async needsExternal(operation: PasswordOperationRow, db: Kysely<Database>) {
            const user = await findLiveUser(db, tenantId, { id: operation.user_id });
            // A user gone is refused by `validate` either way.
            return user === undefined || onPremises.appliesTo(user);
          },
        }
      : {}),
    async begin(operation, start) {
      if (start.secret === undefined)
        throw new RekeyError(Codes.PasswordChangeFailure, {
          message: 'The operation lost its new password.',
        });
      const passwords = parseOperationSecret(start.secret);
      return {
        operation,
        origin: start.origin,
        passwordHash: await hasher.hash(passwords.newPassword),
        newPassword: passwords.newPassword,
        currentPassword: passwords.currentPassword,
        user: undefined,
        lockoutCleared: undefined,
      };
    },
    steps,
    async succeeded(trx, work, at) {
      const user = userOf(work);
      await auditEnd(trx, work.operation, work.origin, at, {
        result: 'success',
        target: { displayName: user.display_name, userPrincipalName: user.user_principal_name },
        details:
          work.lockoutCleared === undefined ? [] : [{ key: 'smartLockout', value: work.lockoutCleared }],
      });
    },
    /**
     * Records that an operation ended without changing the password: "failed" with 120008 as
     * Graph's operation says, the cause in the details.
     */
    async terminated(trx, operation, cause, origin, at) {
      const user = await findUserForLog(trx, tenantId, operation.user_id);
      const causeEntry = findCatalogEntry(cause.code);
      await auditEnd(trx, operation, origin, at, {
        result: 'failure',
        resultReason: failureReason(getCatalogEntry(Codes.PasswordChangeAsyncJobStateTerminated)),
        target: {
          displayName: user?.display_name ?? null,
          userPrincipalName: user?.user_principal_name ?? null,
        },
        details: [
          { key: 'causeCode', value: `AADSTS${cause.code}` },
          { key: 'causeName', value: causeEntry?.name ?? '' },
          { key: 'causeDetail', value: cause.detail ?? causeEntry?.message ?? '' },
        ],
      });
    },
  });
}

/** The engine's map of jobs: every kind of password operation runs the same steps. */
export function createPasswordJobs(
  deps: PasswordOperationDeps,
): Readonly<Record<OperationKind, RunnableJob>> {
  const job = createPasswordOperationJob(deps);
  return { selfChange: job, expiredChange: job, adminReset: job, selfServiceReset: job };
}
