import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type ModifiedProperty, recordAudit } from '../audit/audit-service.js';
import { assignLicensesToNewUser } from '../licenses/license-service.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import type { Database, UserRow, UserUpdate } from '../platform/db/schema.js';
import { isWriteConflict } from '../platform/db/write-conflict.js';
import { isRekeyError } from '../platform/errors/rekey-error.js';
import type { RequestContext } from '../platform/request-context.js';
import { parseRoles } from '../roles/directory-roles.js';
import { findTenantDomain } from '../tenant/tenant-service.js';
import { parseUserPrincipalName } from './upn.js';
import {
  clearUserDeleted,
  findUserById,
  findUserByImmutableId,
  findUserByUpn,
  insertUser,
  listConnectorUsers,
  markUserDeleted,
  revokeSessions,
  updateUser as updateUserRow,
} from './user-store.js';

/*
 * The users a directory connector's sync owns: created, updated, restored and soft-deleted from
 * the directory's entries. What the directory owns on such a user (see directoryOwnedProperties)
 * is written here only; an administrator's PATCH of it is refused (7700802).
 *
 * Matching, in order: the immutable id (entryUUID by default), live or soft-deleted; else the UPN
 * ("soft match"), which turns a cloud user into a synced one, except a user holding a directory
 * role (an on-premises administrator must not take over a cloud administrator by giving an entry
 * that UPN) or a user another directory object already owns. A synced user has no cloud password:
 * sign-in answers 50126 for it until pass-through sign-in checks its password in the directory.
 */

/** One directory entry as a user, after the connector's attribute map. */
export interface SyncedUserInput {
  readonly connectorId: string;
  readonly immutableId: string;
  readonly distinguishedName: string;
  readonly userPrincipalName: string;
  readonly displayName: string;
  readonly givenName: string | null;
  readonly surname: string | null;
  readonly mail: string | null;
  readonly mailNickname: string;
  readonly samAccountName: string | null;
  readonly accountEnabled: boolean;
}

/** What became of one entry. `failed` carries why, for the run's report and log. */
export type SyncedUserResult =
  | { readonly outcome: 'created' | 'updated' | 'unchanged'; readonly userId: string }
  | { readonly outcome: 'failed'; readonly reason: string };

export interface SyncedUserDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly clock: Clock;
  /** The user service's last-Global-Administrator guard, run in the transaction that disables or deletes. */
  readonly assertNotLastGlobalAdministrator: (trx: Kysely<Database>, target: UserRow) => Promise<void>;
}

/** The directory-owned columns of an entry, as stored. */
function ownedColumns(input: SyncedUserInput) {
  return {
    user_principal_name: input.userPrincipalName,
    upn_key: input.userPrincipalName.toLowerCase(),
    display_name: input.displayName,
    given_name: input.givenName,
    surname: input.surname,
    mail: input.mail,
    mail_nickname: input.mailNickname,
    account_enabled: input.accountEnabled ? 1 : 0,
    on_premises_sync_enabled: 1,
    on_premises_immutable_id: input.immutableId,
    on_premises_distinguished_name: input.distinguishedName,
    on_premises_sam_account_name: input.samAccountName,
    on_premises_connector_id: input.connectorId,
  } as const satisfies UserUpdate;
}

/** Graph's names of the columns, for the audit rows' modifiedProperties. */
const auditNames: Readonly<Record<keyof ReturnType<typeof ownedColumns>, string | undefined>> = {
  user_principal_name: 'UserPrincipalName',
  upn_key: undefined,
  display_name: 'DisplayName',
  given_name: 'GivenName',
  surname: 'Surname',
  mail: 'Mail',
  mail_nickname: 'MailNickname',
  account_enabled: 'AccountEnabled',
  on_premises_sync_enabled: 'OnPremisesSyncEnabled',
  on_premises_immutable_id: 'OnPremisesImmutableId',
  on_premises_distinguished_name: 'OnPremisesDistinguishedName',
  on_premises_sam_account_name: 'OnPremisesSamAccountName',
  on_premises_connector_id: undefined,
};

/** The sync's writes to users; spread into the user service. */
export function createSyncedUsers(deps: SyncedUserDeps) {
  const { db, tenantId, clock } = deps;

  async function isVerifiedDomain(upn: string): Promise<boolean> {
    let domain: string;
    try {
      domain = parseUserPrincipalName(upn).domain;
    } catch {
      return false;
    }
    return (await findTenantDomain(db.kysely, tenantId, domain))?.is_verified === 1;
  }

  /** Why `input`'s UPN cannot be used, or undefined when it can (`ownId`: the user it may already be). */
  async function upnProblem(input: SyncedUserInput, ownId: string | undefined): Promise<string | undefined> {
    if (!(await isVerifiedDomain(input.userPrincipalName)))
      return `the UPN ${input.userPrincipalName} is not in a verified domain of the tenant`;
    const holder = await findUserByUpn(db.kysely, tenantId, input.userPrincipalName, {
      includeDeleted: true,
    });
    if (holder && holder.id !== ownId)
      return `another user (${holder.id}) already has the UPN ${input.userPrincipalName}`;
    return undefined;
  }

  async function create(input: SyncedUserInput): Promise<SyncedUserResult> {
    const problem = await upnProblem(input, undefined);
    if (problem) return { outcome: 'failed', reason: problem };
    const now = clock.now().toISOString();
    const row: UserRow = {
      id: randomUUID(),
      tenant_id: tenantId,
      ...ownedColumns(input),
      job_title: null,
      usage_location: null,
      password_policies: null,
      force_change_password_next_sign_in: 0,
      force_change_password_next_sign_in_with_mfa: 0,
      last_password_change_at: null,
      user_type: 'Member',
      roles: '[]',
      session_version: 1,
      sign_in_sessions_valid_from: now,
      on_premises_last_sync_at: now,
      created_at: now,
      updated_at: now,
      deleted_at: null,
    };
    try {
      // No credential row: the directory holds the password (pass-through sign-in, writeback).
      // The user and its licences for new users are one write.
      await db.kysely.transaction().execute(async (trx) => {
        await insertUser(trx, row);
        await assignLicensesToNewUser(trx, tenantId, row.id, now);
      });
    } catch (error) {
      // Another run (a sync by hand beside the scheduled one) created this UPN first.
      if (isWriteConflict(error))
        return {
          outcome: 'failed',
          reason: `the UPN ${input.userPrincipalName} was taken while this entry was read`,
        };
      throw error;
    }
    return { outcome: 'created', userId: row.id };
  }

  /** Writes the entry over `existing` (matched by immutable id or by UPN); restores a soft-deleted one. */
  async function update(
    context: RequestContext,
    existing: UserRow,
    input: SyncedUserInput,
    how: 'immutableId' | 'softMatch',
  ): Promise<SyncedUserResult> {
    if (existing.upn_key !== input.userPrincipalName.toLowerCase()) {
      const problem = await upnProblem(input, existing.id);
      if (problem) return { outcome: 'failed', reason: problem };
    }
    const at = clock.now().toISOString();
    const wanted = ownedColumns(input);
    try {
      return await write(context, existing, wanted, how, at);
    } catch (error) {
      if (isWriteConflict(error))
        return {
          outcome: 'failed',
          reason: `the UPN ${input.userPrincipalName} was taken while this entry was read`,
        };
      throw error;
    }
  }

  function write(
    context: RequestContext,
    existing: UserRow,
    wanted: ReturnType<typeof ownedColumns>,
    how: 'immutableId' | 'softMatch',
    at: string,
  ): Promise<SyncedUserResult> {
    return db.kysely.transaction().execute(async (trx): Promise<SyncedUserResult> => {
      const current = await findUserById(trx, tenantId, existing.id, { includeDeleted: true, lock: true });
      if (!current) return { outcome: 'failed', reason: `the user ${existing.id} went away during the sync` };
      const update: Record<string, unknown> = {};
      const changed: ModifiedProperty[] = [];
      for (const [column, value] of Object.entries(wanted) as Array<[keyof typeof wanted, unknown]>) {
        if (current[column] === value) continue;
        update[column] = value;
        const name = auditNames[column];
        if (name)
          changed.push({
            displayName: name,
            oldValue: JSON.stringify(current[column]),
            newValue: JSON.stringify(value),
          });
      }
      const restoring = current.deleted_at !== null;
      if (Object.keys(update).length === 0 && !restoring) return { outcome: 'unchanged', userId: current.id };
      const disabling = current.account_enabled === 1 && wanted.account_enabled === 0;
      if (disabling && current.deleted_at === null) {
        try {
          await deps.assertNotLastGlobalAdministrator(trx, current);
        } catch (error) {
          if (isRekeyError(error))
            return {
              outcome: 'failed',
              reason: `${current.user_principal_name} is the last enabled Global Administrator and cannot be disabled by the sync`,
            };
          throw error;
        }
      }
      await updateUserRow(trx, current.id, {
        ...(update as UserUpdate),
        on_premises_last_sync_at: at,
        updated_at: at,
      });
      if (restoring) await clearUserDeleted(trx, current.id, at);
      if (disabling) await revokeSessions(trx, current.id, at);
      const after = { ...current, ...(update as Partial<UserRow>) };
      const target = {
        id: after.id,
        displayName: after.display_name,
        userPrincipalName: after.user_principal_name,
        modifiedProperties: changed,
      };
      // Taking over a cloud user and bringing a deleted one back are on record one by one; a
      // plain update is counted in the run's audit row.
      if (how === 'softMatch')
        await recordAudit(
          trx,
          tenantId,
          context,
          {
            activity: 'updateUser',
            result: 'success',
            targets: [target],
            additionalDetails: [{ key: 'SyncMatch', value: 'Matched by userPrincipalName (soft match)' }],
          },
          at,
        );
      if (restoring)
        await recordAudit(
          trx,
          tenantId,
          context,
          { activity: 'restoreUser', result: 'success', targets: [target] },
          at,
        );
      return { outcome: 'updated', userId: current.id };
    });
  }

  /**
   * Creates or updates the user of one directory entry (see the matching rules at the top of this
   * file). Never throws for the entry's own problems (a UPN outside the verified domains, taken by
   * another user, a role holder matched by UPN): those are `failed` with the reason.
   */
  async function applySyncedUser(context: RequestContext, input: SyncedUserInput): Promise<SyncedUserResult> {
    const byImmutableId = await findUserByImmutableId(db.kysely, tenantId, input.immutableId);
    if (byImmutableId) {
      if (
        byImmutableId.on_premises_connector_id !== null &&
        byImmutableId.on_premises_connector_id !== input.connectorId
      )
        return {
          outcome: 'failed',
          reason: `the immutable id ${input.immutableId} belongs to a user of another connector`,
        };
      // A cloud user given this immutable id by hand ("hard match"): the same guard as a soft match.
      if (byImmutableId.on_premises_connector_id === null && parseRoles(byImmutableId.roles).length > 0)
        return {
          outcome: 'failed',
          reason: `the immutable id ${input.immutableId} belongs to a cloud user holding a directory role, which a sync never takes over`,
        };
      return update(context, byImmutableId, input, 'immutableId');
    }
    const byUpn = await findUserByUpn(db.kysely, tenantId, input.userPrincipalName, { includeDeleted: true });
    if (!byUpn) return create(input);
    if (byUpn.deleted_at !== null)
      return {
        outcome: 'failed',
        reason: `the UPN ${input.userPrincipalName} belongs to a deleted cloud user; restore or purge it first`,
      };
    if (byUpn.on_premises_sync_enabled === 1 || byUpn.on_premises_immutable_id !== null)
      return {
        outcome: 'failed',
        reason: `the UPN ${input.userPrincipalName} belongs to a user with another immutable id`,
      };
    if (parseRoles(byUpn.roles).length > 0)
      return {
        outcome: 'failed',
        reason: `the UPN ${input.userPrincipalName} belongs to a cloud user holding a directory role, which a sync never takes over`,
      };
    return update(context, byUpn, input, 'softMatch');
  }

  /**
   * Soft-deletes the live users of `connectorId` whose immutable id the directory no longer has
   * (`present`: every immutable id a full read of the directory found), each with its sessions
   * revoked and a "Delete user" audit row. The last enabled Global Administrator is kept and
   * counted as failed.
   */
  async function removeMissingSyncedUsers(
    context: RequestContext,
    connectorId: string,
    present: ReadonlySet<string>,
  ): Promise<{ readonly deleted: number; readonly failed: readonly string[] }> {
    const owned = await listConnectorUsers(db.kysely, tenantId, connectorId);
    let deleted = 0;
    const failed: string[] = [];
    for (const user of owned) {
      if (user.immutableId !== null && present.has(user.immutableId)) continue;
      const at = clock.now().toISOString();
      const outcome = await db.kysely.transaction().execute(async (trx) => {
        const current = await findUserById(trx, tenantId, user.id, { lock: true });
        if (!current) return 'gone' as const;
        try {
          await deps.assertNotLastGlobalAdministrator(trx, current);
        } catch (error) {
          if (isRekeyError(error)) return 'lastAdministrator' as const;
          throw error;
        }
        if (!(await markUserDeleted(trx, current.id, at))) return 'gone' as const;
        await revokeSessions(trx, current.id, at);
        await recordAudit(
          trx,
          tenantId,
          context,
          {
            activity: 'deleteUser',
            result: 'success',
            targets: [
              {
                id: current.id,
                displayName: current.display_name,
                userPrincipalName: current.user_principal_name,
                modifiedProperties: [],
              },
            ],
            additionalDetails: [
              {
                key: 'Reason',
                value: 'The entry is no longer in the directory, or no longer matches the connector.',
              },
            ],
          },
          at,
        );
        return 'deleted' as const;
      });
      if (outcome === 'deleted') deleted += 1;
      if (outcome === 'lastAdministrator')
        failed.push(`${user.id} is the last enabled Global Administrator and was kept`);
    }
    return { deleted, failed };
  }

  return { applySyncedUser, removeMissingSyncedUsers };
}
