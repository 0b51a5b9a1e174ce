import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditActivityName } from '../audit/audit-activities.js';
import {
  type AuditEntry,
  auditRefusals as auditRefusalsOf,
  failureReason,
  type ModifiedProperty,
  recordAudit,
} from '../audit/audit-service.js';
import { assignLicensesToNewUser, releaseLicensesOfUser } from '../licenses/license-service.js';
import { storePasswordHash } from '../passwords/credential-service.js';
import type { PasswordPolicyService } from '../passwords/password-policy-service.js';
import type { Clock } from '../platform/clock.js';
import type { PasswordHasher } from '../platform/crypto/password-hasher.js';
import type { Db } from '../platform/db/database.js';
import type { Database, UserRow, UserUpdate } from '../platform/db/schema.js';
import { isWriteConflict } from '../platform/db/write-conflict.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { QueryOptions } from '../platform/odata/index.js';
import type { RequestContext } from '../platform/request-context.js';
import { type DirectoryRole, directoryRoleTemplates, parseRoles } from '../roles/directory-roles.js';
import { findTenantDomain } from '../tenant/tenant-service.js';
import { assertMayActOn, type UserAction } from './authorization.js';
import { createSyncedUsers } from './synced-users.js';
import { parseUserPrincipalName } from './upn.js';
import {
  clearUserDeleted,
  findUserById,
  findUserByUpn,
  findUsersByIds,
  getForPasswordCheck,
  insertUser,
  listEnabledGlobalAdministratorIds,
  listRoleHolders as listRoleHolderRows,
  listUsersPage,
  markUserDeleted,
  purgeDeletedUser,
  revokeSessions,
  tenantHasUsers,
  type UserListPage,
  updatePasswordChange,
  updateUser as updateUserRow,
} from './user-store.js';

export type { UserListPage } from './user-store.js';

export interface CreateUserInput {
  readonly accountEnabled: boolean;
  readonly displayName: string;
  readonly mailNickname: string;
  readonly userPrincipalName: string;
  readonly password: string;
  readonly forceChangePasswordNextSignIn: boolean;
  readonly forceChangePasswordNextSignInWithMfa?: boolean;
  readonly passwordPolicies?: string | null;
  readonly givenName?: string | null;
  readonly surname?: string | null;
  readonly mail?: string | null;
  readonly jobTitle?: string | null;
  readonly usageLocation?: string | null;
  readonly onPremisesImmutableId?: string | null;
  readonly roles?: readonly DirectoryRole[];
}

/**
 * What PATCH /users/{id} may change directly. A new password is not here: it is an admin reset,
 * run by the password operations service and handed in as `UpdateUserOptions.resetPassword`.
 */
export interface UserChanges {
  readonly accountEnabled?: boolean;
  readonly displayName?: string;
  readonly givenName?: string | null;
  readonly surname?: string | null;
  readonly mail?: string | null;
  readonly jobTitle?: string | null;
  readonly usageLocation?: string | null;
  readonly passwordPolicies?: string | null;
  readonly forceChangePasswordNextSignIn?: boolean;
  readonly forceChangePasswordNextSignInWithMfa?: boolean;
}

export interface UpdateUserOptions {
  /**
   * Resets the user's password (policy check, audit, session revocation, forced change) before
   * the other changes are written. When it throws, nothing else is changed. The force-change
   * flags belong to the reset then, and are not applied a second time.
   */
  readonly resetPassword?: (target: UserRow) => Promise<void>;
}

export interface UserServiceDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly hasher: PasswordHasher;
  readonly clock: Clock;
  /** The password policy a new account's password must pass (operation `create`). */
  readonly passwordPolicy: Pick<PasswordPolicyService, 'assertAcceptable' | 'recordAuditOnly'>;
}

const passwordPolicyValues = ['None', 'DisablePasswordExpiration', 'DisableStrongPassword'] as const;

/** The refusals of user administration that are audited as failures (see auditRefusals). */
const refusalCodes: ReadonlySet<number> = new Set([
  Codes.InsufficientPrivileges,
  Codes.LastGlobalAdministrator,
  Codes.CannotDeleteOwnAccount,
]);

/** The properties a directory connector's sync owns on a synced user (see docs/connectors.md). */
export const directoryOwnedProperties = [
  'userPrincipalName',
  'displayName',
  'givenName',
  'surname',
  'mail',
  'accountEnabled',
] as const;

/**
 * Refuses (7700802) a change to a property the on-premises directory owns on a synced user, naming
 * each one: the next sync would put the directory's value back. The password is not among them.
 */
export function assertNoDirectoryOwnedChange(target: UserRow, changes: UserChanges): void {
  if (target.on_premises_sync_enabled !== 1) return;
  const given = changes as Readonly<Record<string, unknown>>;
  const touched = directoryOwnedProperties.filter((property) => given[property] !== undefined);
  if (touched.length === 0) return;
  throw new RekeyError(Codes.OnPremisesMasteredProperty, {
    message: `${touched.join(', ')} of ${target.user_principal_name} ${touched.length === 1 ? 'is' : 'are'} owned by the on-premises directory its connector syncs from: change ${touched.length === 1 ? 'it' : 'them'} there, and the next sync brings the change into Rekey.`,
    details: { id: target.id, properties: touched },
  });
}

/** Normalises Graph's `passwordPolicies` string ("A, B") to Rekey's stored form, or throws 7700001. */
export function normalizePasswordPolicies(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const parts = value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const unknown = parts.filter((p) => !(passwordPolicyValues as readonly string[]).includes(p));
  if (unknown.length > 0) {
    throw new RekeyError(Codes.RequestValidationFailed, {
      details: {
        field: 'passwordPolicies',
        problem: `unknown value ${unknown.join(', ')}`,
        allowed: passwordPolicyValues,
      },
    });
  }
  const kept = [...new Set(parts.filter((p) => p !== 'None'))].sort();
  return kept.length === 0 ? null : kept.join(', ');
}

/** One change to a user's directory roles. */
export interface RoleChange {
  readonly action: 'add' | 'remove';
  readonly role: DirectoryRole;
}

/** A user as an audit row's target, with the properties the action changed. */
function auditTarget(user: UserRow, modifiedProperties: readonly ModifiedProperty[] = []) {
  return {
    id: user.id,
    displayName: user.display_name,
    userPrincipalName: user.user_principal_name,
    modifiedProperties,
  };
}

/**
 * The audit entry of one role membership change, in the form Entra writes it: "Add member to
 * role" or "Remove member from role", category RoleManagement, the user as target and the role's
 * name and template id as modified properties (the new value on add, the old one on remove).
 */
export function roleMembershipAuditEntry(
  change: RoleChange,
  member: UserRow,
  outcome: { readonly result: 'success' } | { readonly result: 'failure'; readonly reason: string },
): AuditEntry {
  const adding = change.action === 'add';
  const property = (displayName: string, value: string): ModifiedProperty => ({
    displayName,
    oldValue: adding ? null : JSON.stringify(value),
    newValue: adding ? JSON.stringify(value) : null,
  });
  return {
    activity: adding ? 'addMemberToRole' : 'removeMemberFromRole',
    result: outcome.result,
    ...(outcome.result === 'failure' ? { resultReason: outcome.reason } : {}),
    targets: [
      auditTarget(member, [
        property('Role.DisplayName', change.role),
        property('Role.TemplateId', directoryRoleTemplates[change.role].templateId),
      ]),
    ],
  };
}

/**
 * What a PATCH asks for, as the authorization module's actions: each one is judged, and every one
 * must be allowed. A PATCH that names no property is judged as a change, as any PATCH is.
 */
function actionsOf(changes: UserChanges, options: UpdateUserOptions): UserAction[] {
  const { accountEnabled, ...properties } = changes;
  const actions: UserAction[] = [];
  if (accountEnabled !== undefined) actions.push(accountEnabled ? 'enable' : 'disable');
  const changesProperties = Object.values(properties).some((value) => value !== undefined);
  if (changesProperties || options.resetPassword || actions.length === 0) actions.push('updateUser');
  return actions;
}

/** The role names stored for a user, unknown ones kept: a rewrite must not drop what it cannot read. */
function storedRoleNames(json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) ? parsed.filter((r): r is string => typeof r === 'string') : [];
}

/** One audited property change; values are JSON so that null and "null" stay apart. */
function modified(displayName: string, oldValue: unknown, newValue: unknown): ModifiedProperty {
  return { displayName, oldValue: JSON.stringify(oldValue), newValue: JSON.stringify(newValue) };
}

/*
 * A user's row as the other features need it, inside their own transaction when they pass one:
 * the guard and the token endpoint read the user a token names, the password operation validates,
 * stamps and signs out the user it changes, smart lockout locks the user it unlocks.
 */

/** A live user by object id, or by user principal name (case-insensitive as Entra's), or undefined. */
export function findLiveUser(
  db: Kysely<Database>,
  tenantId: string,
  by: { readonly id: string } | { readonly upn: string },
): Promise<UserRow | undefined> {
  return 'id' in by ? findUserById(db, tenantId, by.id) : findUserByUpn(db, tenantId, by.upn);
}

/**
 * A user by object id, deleted or not: for naming them in a log row about something they did or
 * that was done to them, which may be written after they were deleted.
 */
export function findUserForLog(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
): Promise<UserRow | undefined> {
  return findUserById(db, tenantId, id, { includeDeleted: true });
}

/** Users by object id, deleted or not, in one read: findUserForLog for many (absent ids are left out). */
export function findUsersForLog(
  db: Kysely<Database>,
  tenantId: string,
  ids: readonly string[],
): Promise<UserRow[]> {
  return findUsersByIds(db, tenantId, ids);
}

/**
 * Reads a live user again inside `trx` for a change judged on it, locked until the transaction
 * ends (see platform/db/row-locks.ts for SQLite), so a concurrent role assignment to the user
 * either waits for the change or is seen by it. With `lockAdministrators`, the enabled Global
 * Administrators' rows are locked first: every transaction takes these locks in that one order,
 * so two of them never wait on each other in a cycle.
 */
export async function lockUserForChange(
  trx: Kysely<Database>,
  tenantId: string,
  id: string,
  options: { readonly lockAdministrators?: boolean } = {},
): Promise<UserRow | undefined> {
  if (options.lockAdministrators) await listEnabledGlobalAdministratorIds(trx, tenantId, { lock: true });
  return findUserById(trx, tenantId, id, { lock: true });
}

/**
 * A live user with their password hash (null for an account without a password), in one read:
 * what the password check behind sign-in and self-service change works on.
 */
export function findUserForPasswordCheck(
  db: Kysely<Database>,
  tenantId: string,
  by: { readonly id: string } | { readonly upn: string },
): Promise<(UserRow & { password_hash: string | null }) | undefined> {
  return getForPasswordCheck(db, tenantId, by);
}

/**
 * Stamps a new password on the user's row, in the transaction that stores its hash:
 * `lastPasswordChangeDateTime`, and the force-change flags as the change leaves them (set by an
 * administrator's reset that asks for it, cleared otherwise).
 */
export async function recordPasswordChange(
  trx: Kysely<Database>,
  userId: string,
  change: { readonly at: string; readonly forceChangeNextSignIn: boolean },
): Promise<void> {
  await updatePasswordChange(trx, userId, { at: change.at, forceChange: change.forceChangeNextSignIn });
}

/**
 * Ends every session of a user, inside the caller's transaction: tokens issued before `at` are
 * refused from the next request (the session version they carry is bumped) and refresh tokens
 * are revoked.
 */
export async function revokeUserSessions(trx: Kysely<Database>, userId: string, at: string): Promise<void> {
  await revokeSessions(trx, userId, at);
}

export type UserService = ReturnType<typeof createUserService>;

/** Users of the directory: create and find. */
export function createUserService(deps: UserServiceDeps) {
  const { db, tenantId, hasher, clock } = deps;

  /** Finds a live user by object id or UPN (a value with an @ is a UPN), or throws 7700008. */
  async function getUser(idOrUpn: string): Promise<UserRow> {
    const user = idOrUpn.includes('@')
      ? await findUserByUpn(db.kysely, tenantId, idOrUpn)
      : await findUserById(db.kysely, tenantId, idOrUpn);
    if (!user) throw new RekeyError(Codes.ResourceNotFound, { details: { id: idOrUpn } });
    return user;
  }

  /**
   * Creates a user with a password, as Graph's POST /users does: the UPN must be in a verified
   * domain of the tenant, a federated domain needs an immutable id, and the password must pass
   * the policy. The user, credential, history entry and audit row are written together.
   */
  async function createUser(context: RequestContext, input: CreateUserInput): Promise<UserRow> {
    const { domain } = parseUserPrincipalName(input.userPrincipalName);
    const domainRow = await findTenantDomain(db.kysely, tenantId, domain);
    if (domainRow?.is_verified !== 1) {
      throw new RekeyError(Codes.InvalidUserPrincipalName, {
        message: `The domain ${domain} is not a verified domain of this tenant.`,
        details: { userPrincipalName: input.userPrincipalName, domain },
      });
    }
    if (domainRow.authentication_type === 'Federated' && !input.onPremisesImmutableId) {
      throw new RekeyError(Codes.RequestValidationFailed, {
        message: 'A user in a federated domain needs an onPremisesImmutableId.',
        details: { field: 'onPremisesImmutableId', domain },
      });
    }
    if (input.onPremisesImmutableId && /[$_]/.test(input.onPremisesImmutableId)) {
      throw new RekeyError(Codes.RequestValidationFailed, {
        details: { field: 'onPremisesImmutableId', problem: 'must not contain $ or _' },
      });
    }
    const passwordPolicies = normalizePasswordPolicies(input.passwordPolicies);
    const evaluation = await deps.passwordPolicy.assertAcceptable(
      'create',
      {
        id: null,
        userPrincipalName: input.userPrincipalName,
        displayName: input.displayName,
        givenName: input.givenName ?? null,
        surname: input.surname ?? null,
        passwordPolicies,
        forceChangePasswordNextSignIn: input.forceChangePasswordNextSignIn,
        lastPasswordChangeDateTime: null,
      },
      input.password,
    );
    if (await findUserByUpn(db.kysely, tenantId, input.userPrincipalName, { includeDeleted: true })) {
      throw new RekeyError(Codes.ObjectConflict, {
        message: 'Another user already has this user principal name.',
        details: { userPrincipalName: input.userPrincipalName },
      });
    }

    const passwordHash = await hasher.hash(input.password);
    const now = clock.now().toISOString();
    const roles = [...new Set(input.roles ?? [])];
    const row: UserRow = {
      id: randomUUID(),
      tenant_id: tenantId,
      user_principal_name: input.userPrincipalName,
      upn_key: input.userPrincipalName.toLowerCase(),
      display_name: input.displayName,
      given_name: input.givenName ?? null,
      surname: input.surname ?? null,
      mail: input.mail ?? null,
      mail_nickname: input.mailNickname,
      job_title: input.jobTitle ?? null,
      usage_location: input.usageLocation ?? null,
      account_enabled: input.accountEnabled ? 1 : 0,
      password_policies: passwordPolicies,
      force_change_password_next_sign_in: input.forceChangePasswordNextSignIn ? 1 : 0,
      force_change_password_next_sign_in_with_mfa: input.forceChangePasswordNextSignInWithMfa ? 1 : 0,
      last_password_change_at: now,
      user_type: 'Member',
      roles: JSON.stringify(roles),
      session_version: 1,
      sign_in_sessions_valid_from: now,
      on_premises_sync_enabled: null,
      on_premises_immutable_id: input.onPremisesImmutableId ?? null,
      on_premises_distinguished_name: null,
      on_premises_sam_account_name: null,
      on_premises_last_sync_at: null,
      on_premises_connector_id: null,
      created_at: now,
      updated_at: now,
      deleted_at: null,
    };
    try {
      await db.kysely.transaction().execute(async (trx) => {
        await insertUser(trx, row);
        await storePasswordHash(trx, row.id, passwordHash, now);
        // The subscriptions given to every new user (P1 out of the box), while units last.
        await assignLicensesToNewUser(trx, tenantId, row.id, now);
        await recordAudit(
          trx,
          tenantId,
          context,
          {
            activity: 'addUser',
            result: 'success',
            targets: [
              {
                id: row.id,
                displayName: row.display_name,
                userPrincipalName: row.user_principal_name,
              },
            ],
          },
          now,
        );
        await deps.passwordPolicy.recordAuditOnly(
          trx,
          context,
          { id: row.id, displayName: row.display_name, userPrincipalName: row.user_principal_name },
          'create',
          evaluation,
        );
        // A role given at creation is a role assignment like any other, and audited as one.
        for (const role of roles) {
          await recordAudit(
            trx,
            tenantId,
            context,
            roleMembershipAuditEntry({ action: 'add', role }, row, { result: 'success' }),
            now,
          );
        }
      });
    } catch (error) {
      // Two creates racing for one UPN: the unique index decides, and the loser gets the same 409.
      if (
        isWriteConflict(error) &&
        (await findUserByUpn(db.kysely, tenantId, input.userPrincipalName, { includeDeleted: true }))
      ) {
        throw new RekeyError(Codes.ObjectConflict, {
          details: { userPrincipalName: input.userPrincipalName },
          cause: error,
        });
      }
      throw error;
    }
    return row;
  }

  async function audit(
    trx: Kysely<Database>,
    context: RequestContext,
    entry: Omit<AuditEntry, 'result'>,
    at: string,
  ): Promise<void> {
    await recordAudit(trx, tenantId, context, { ...entry, result: 'success' }, at);
  }

  /**
   * Runs an administrative action on `target`, auditing a refusal by the directory's own rules (a
   * role holder changed by a non-Global Administrator, the last Global Administrator disabled or
   * deleted, an administrator deleting themselves) as a failure.
   */
  function auditRefusals<T>(
    context: RequestContext,
    activity: AuditActivityName,
    target: UserRow,
    action: () => Promise<T>,
  ): Promise<T> {
    return auditRefusalsOf(
      {
        db: db.kysely,
        tenantId,
        context,
        codes: refusalCodes,
        entry: (refusal) => ({
          activity,
          result: 'failure',
          resultReason: failureReason(refusal),
          targets: [auditTarget(target)],
        }),
        now: () => clock.now().toISOString(),
      },
      action,
    );
  }

  /**
   * Refuses to leave the tenant without an enabled Global Administrator. Runs inside the
   * transaction that disables or deletes `target`, with the administrators' rows locked.
   */
  async function assertNotLastGlobalAdministrator(
    trx: Kysely<Database>,
    target: UserRow,
    message?: string,
  ): Promise<void> {
    if (target.account_enabled !== 1 || !parseRoles(target.roles).includes('Global Administrator')) return;
    const ids = await listEnabledGlobalAdministratorIds(trx, tenantId, { lock: true });
    if (!ids.some((id) => id !== target.id)) {
      throw new RekeyError(Codes.LastGlobalAdministrator, {
        ...(message === undefined ? {} : { message }),
        details: { id: target.id, userPrincipalName: target.user_principal_name },
      });
    }
  }

  /** Finds a soft-deleted user by object id or UPN, or throws 7700008. */
  async function getDeletedUser(id: string): Promise<UserRow> {
    const user = id.includes('@')
      ? await findUserByUpn(db.kysely, tenantId, id, { includeDeleted: true })
      : await findUserById(db.kysely, tenantId, id, { includeDeleted: true });
    if (!user || user.deleted_at === null) throw new RekeyError(Codes.ResourceNotFound, { details: { id } });
    return user;
  }

  /**
   * Changes a user's properties as Graph's PATCH /users/{id} does. Each kind of change writes its
   * own audit row in the transaction of the change: "Update user" for profile and policy fields,
   * "Disable account" / "Enable account", and "Set force change user password". Disabling revokes
   * every session; disabling the last enabled Global Administrator is refused (7700106).
   */
  async function updateUser(
    context: RequestContext,
    idOrUpn: string,
    changes: UserChanges,
    options: UpdateUserOptions = {},
  ): Promise<UserRow> {
    const target = await getUser(idOrUpn);
    const activity = changes.accountEnabled === false ? 'disableAccount' : 'updateUser';
    return auditRefusals(context, activity, target, () =>
      updateLiveUser(context, idOrUpn, target, changes, options),
    );
  }

  async function updateLiveUser(
    context: RequestContext,
    idOrUpn: string,
    target: UserRow,
    changes: UserChanges,
    options: UpdateUserOptions,
  ): Promise<UserRow> {
    const actions = actionsOf(changes, options);
    for (const action of actions) assertMayActOn(action, context.actor, target);
    assertNoDirectoryOwnedChange(target, changes);
    const passwordPolicies =
      changes.passwordPolicies === undefined
        ? undefined
        : normalizePasswordPolicies(changes.passwordPolicies);
    if (changes.accountEnabled === false && target.account_enabled === 1) {
      // Checked early too, so a refused disable does not first reset the password.
      await assertNotLastGlobalAdministrator(db.kysely, target);
    }
    if (options.resetPassword) await options.resetPassword(target);

    const at = clock.now().toISOString();
    return db.kysely.transaction().execute(async (trx) => {
      const current = await lockUserForChange(trx, tenantId, target.id, {
        lockAdministrators: changes.accountEnabled === false,
      });
      if (!current) throw new RekeyError(Codes.ResourceNotFound, { details: { id: idOrUpn } });
      // Judged again on the locked row: the user may have been given a role since the first look.
      for (const action of actions) assertMayActOn(action, context.actor, current);
      const update: UserUpdate = {};
      const profile: ModifiedProperty[] = [];
      const record = (
        name: string,
        column: 'given_name' | 'surname' | 'mail' | 'job_title' | 'usage_location' | 'password_policies',
        value: string | null | undefined,
      ) => {
        if (value === undefined || value === current[column]) return;
        update[column] = value;
        profile.push(modified(name, current[column], value));
      };
      if (changes.displayName !== undefined && changes.displayName !== current.display_name) {
        update.display_name = changes.displayName;
        profile.push(modified('DisplayName', current.display_name, changes.displayName));
      }
      record('GivenName', 'given_name', changes.givenName);
      record('Surname', 'surname', changes.surname);
      record('Mail', 'mail', changes.mail);
      record('JobTitle', 'job_title', changes.jobTitle);
      record(
        'UsageLocation',
        'usage_location',
        changes.usageLocation?.toUpperCase() ?? changes.usageLocation,
      );
      record('PasswordPolicies', 'password_policies', passwordPolicies);

      const enabling =
        changes.accountEnabled !== undefined && (changes.accountEnabled ? 1 : 0) !== current.account_enabled;
      if (enabling) update.account_enabled = changes.accountEnabled ? 1 : 0;

      const force: ModifiedProperty[] = [];
      if (!options.resetPassword) {
        const flag = (
          name: string,
          column: 'force_change_password_next_sign_in' | 'force_change_password_next_sign_in_with_mfa',
          value: boolean | undefined,
        ) => {
          if (value === undefined || (value ? 1 : 0) === current[column]) return;
          update[column] = value ? 1 : 0;
          force.push(modified(name, current[column] === 1, value));
        };
        flag(
          'ForceChangePasswordNextSignIn',
          'force_change_password_next_sign_in',
          changes.forceChangePasswordNextSignIn,
        );
        flag(
          'ForceChangePasswordNextSignInWithMfa',
          'force_change_password_next_sign_in_with_mfa',
          changes.forceChangePasswordNextSignInWithMfa,
        );
      }

      if (Object.keys(update).length === 0) return current;
      if (update.account_enabled === 0) await assertNotLastGlobalAdministrator(trx, current);
      await updateUserRow(trx, current.id, { ...update, updated_at: at });
      const after = { ...current, ...update };
      if (profile.length > 0) {
        await audit(trx, context, { activity: 'updateUser', targets: [auditTarget(after, profile)] }, at);
      }
      if (enabling) {
        const accountEnabled = [
          modified('AccountEnabled', current.account_enabled === 1, update.account_enabled === 1),
        ];
        await audit(
          trx,
          context,
          {
            activity: update.account_enabled === 1 ? 'enableAccount' : 'disableAccount',
            targets: [auditTarget(after, accountEnabled)],
          },
          at,
        );
        // A disabled account must lose its sessions now, not when its tokens expire.
        if (update.account_enabled === 0) await revokeSessions(trx, current.id, at);
      }
      if (force.length > 0) {
        await audit(
          trx,
          context,
          { activity: 'setForceChangeUserPassword', targets: [auditTarget(after, force)] },
          at,
        );
      }
      return (await findUserById(trx, tenantId, current.id)) ?? after;
    });
  }

  /**
   * Soft-deletes a user (Graph's DELETE /users/{id}): the account stops signing in at once, its
   * sessions are revoked, and it can be restored from deletedItems until it is purged.
   */
  async function deleteUser(context: RequestContext, idOrUpn: string): Promise<void> {
    const target = await getUser(idOrUpn);
    await auditRefusals(context, 'deleteUser', target, async () => {
      assertMayActOn('delete', context.actor, target);
      const at = clock.now().toISOString();
      await db.kysely.transaction().execute(async (trx) => {
        const current = await lockUserForChange(trx, tenantId, target.id, { lockAdministrators: true });
        if (!current) throw new RekeyError(Codes.ResourceNotFound, { details: { id: idOrUpn } });
        assertMayActOn('delete', context.actor, current);
        await assertNotLastGlobalAdministrator(trx, current);
        if (!(await markUserDeleted(trx, current.id, at)))
          throw new RekeyError(Codes.ResourceNotFound, { details: { id: idOrUpn } });
        await revokeSessions(trx, current.id, at);
        await audit(trx, context, { activity: 'deleteUser', targets: [auditTarget(current)] }, at);
      });
    });
  }

  /**
   * Revokes every sign-in session of a user (Graph's revokeSignInSessions): refresh tokens and
   * access tokens issued before now stop working, so each of the user's apps must sign in again.
   */
  async function revokeSignInSessions(context: RequestContext, idOrUpn: string): Promise<void> {
    const target = await getUser(idOrUpn);
    await auditRefusals(context, 'revokeSignInSessions', target, async () => {
      assertMayActOn('revokeSessions', context.actor, target);
      const at = clock.now().toISOString();
      await db.kysely.transaction().execute(async (trx) => {
        await revokeSessions(trx, target.id, at);
        await audit(trx, context, { activity: 'revokeSignInSessions', targets: [auditTarget(target)] }, at);
      });
    });
  }

  /** Restores a soft-deleted user with everything it had (roles, password, settings). */
  async function restoreUser(context: RequestContext, id: string): Promise<UserRow> {
    const target = await getDeletedUser(id);
    await auditRefusals(context, 'restoreUser', target, async () =>
      assertMayActOn('restore', context.actor, target),
    );
    const at = clock.now().toISOString();
    await db.kysely.transaction().execute(async (trx) => {
      if (!(await clearUserDeleted(trx, target.id, at)))
        throw new RekeyError(Codes.ResourceNotFound, { details: { id } });
      await audit(trx, context, { activity: 'restoreUser', targets: [auditTarget(target)] }, at);
    });
    return getUser(target.id);
  }

  /** Deletes a soft-deleted user permanently; the audit log keeps its id and name. */
  async function purgeUser(context: RequestContext, id: string): Promise<void> {
    const target = await getDeletedUser(id);
    await auditRefusals(context, 'hardDeleteUser', target, async () =>
      assertMayActOn('purge', context.actor, target),
    );
    const at = clock.now().toISOString();
    await db.kysely.transaction().execute(async (trx) => {
      await audit(trx, context, { activity: 'hardDeleteUser', targets: [auditTarget(target)] }, at);
      // The licences go with the user; their units go back to the subscriptions.
      await releaseLicensesOfUser(trx, tenantId, target.id);
      if (!(await purgeDeletedUser(trx, tenantId, target.id)))
        throw new RekeyError(Codes.ResourceNotFound, { details: { id } });
    });
  }

  /**
   * One page of live users (or, with `deleted`, soft-deleted ones) for validated OData options:
   * filter, keyset page and, when asked, the total count.
   */
  async function listUsers(
    query: QueryOptions,
    options: { readonly deleted?: boolean } = {},
  ): Promise<UserListPage> {
    return listUsersPage(db.kysely, tenantId, {
      deleted: options.deleted ?? false,
      filter: query.filter,
      page: query,
      count: query.count,
    });
  }

  /** The live users who hold a directory role (or only `userId`), with the roles Rekey knows. */
  async function listRoleHolders(
    options: { readonly userId?: string } = {},
  ): Promise<Array<{ readonly userId: string; readonly roles: DirectoryRole[] }>> {
    const rows = await listRoleHolderRows(db.kysely, tenantId, options);
    return rows.map((row) => ({ userId: row.id, roles: parseRoles(row.roles) }));
  }

  /**
   * Gives a live user a directory role or takes one away, with the "Add member to role" /
   * "Remove member from role" audit row in the same transaction. `changed` is false, and nothing
   * is written, when the user already held the role (add) or did not hold it (remove). Taking
   * Global Administrator from the last enabled one is refused (7700106). Who may change roles is
   * the caller's rule (src/roles/role-service.ts). Sessions are left alone: the guard reads the
   * roles from the database on every request, so the change applies from the next request.
   */
  async function changeDirectoryRole(
    context: RequestContext,
    userId: string,
    change: RoleChange,
  ): Promise<{ readonly user: UserRow; readonly changed: boolean }> {
    const losingGlobalAdministrator = change.action === 'remove' && change.role === 'Global Administrator';
    const at = clock.now().toISOString();
    return db.kysely.transaction().execute(async (trx) => {
      // Locked: two changes to one user's roles at once must not each overwrite the other's, and
      // a reset or change judged on the user's roles commits before or after, never across.
      const current = await lockUserForChange(trx, tenantId, userId, {
        lockAdministrators: losingGlobalAdministrator,
      });
      if (!current) throw new RekeyError(Codes.ResourceNotFound, { details: { id: userId } });
      const stored = storedRoleNames(current.roles);
      if (stored.includes(change.role) === (change.action === 'add'))
        return { user: current, changed: false };
      if (losingGlobalAdministrator) {
        await assertNotLastGlobalAdministrator(
          trx,
          current,
          'The last enabled Global Administrator cannot lose the Global Administrator role.',
        );
      }
      const roles = JSON.stringify(
        change.action === 'add' ? [...stored, change.role] : stored.filter((role) => role !== change.role),
      );
      await updateUserRow(trx, current.id, { roles, updated_at: at });
      await recordAudit(
        trx,
        tenantId,
        context,
        roleMembershipAuditEntry(change, current, { result: 'success' }),
        at,
      );
      return { user: { ...current, roles, updated_at: at }, changed: true };
    });
  }

  /** True once the tenant has any user, deleted or not (the first start creates one). */
  function hasAnyUser(): Promise<boolean> {
    return tenantHasUsers(db.kysely, tenantId);
  }

  const syncedUsers = createSyncedUsers({ db, tenantId, clock, assertNotLastGlobalAdministrator });

  return {
    ...syncedUsers,
    hasAnyUser,
    getUser,
    getDeletedUser,
    listUsers,
    createUser,
    updateUser,
    deleteUser,
    revokeSignInSessions,
    restoreUser,
    purgeUser,
    listRoleHolders,
    changeDirectoryRole,
  };
}
