import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type ModifiedProperty, recordAudit } from '../audit/audit-service.js';
import { assignLicensesToNewUser, assignLicensesToNewUsers } from '../licenses/license-service.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import type { Database, UserRow, UserUpdate } from '../platform/db/schema.js';
import { isWriteConflict } from '../platform/db/write-conflict.js';
import { isRekeyError } from '../platform/errors/rekey-error.js';
import type { RequestContext } from '../platform/request-context.js';
import { parseRoles } from '../roles/directory-roles.js';
import { listVerifiedTenantDomains } from '../tenant/tenant-service.js';
import { parseUserPrincipalName } from './upn.js';
import {
  clearUserDeleted,
  findUserById,
  findUserByImmutableId,
  findUserByUpn,
  findUsersByImmutableIds,
  findUsersByUpns,
  insertUser,
  insertUsers,
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

/** A sync run's writes of directory entries, page by page (see startSyncRun). */
export interface SyncRun {
  /**
   * Creates or updates the users of a page of directory entries, each as applySyncedUser would in
   * the page's order, and answers what became of each (same order).
   */
  applyPage(context: RequestContext, inputs: readonly SyncedUserInput[]): Promise<SyncedUserResult[]>;
}

/** An entry whose new user is written with the rest of its page's. */
interface PendingCreate {
  readonly index: number;
  readonly input: SyncedUserInput;
  readonly row: UserRow;
}

/** The sync's writes to users; spread into the user service. */
export function createSyncedUsers(deps: SyncedUserDeps) {
  const { db, tenantId, clock } = deps;

  /** Whether the UPN's domain is among `verified` (the tenant's verified domains, read once a run). */
  function inVerifiedDomain(verified: ReadonlySet<string>, upn: string): boolean {
    try {
      return verified.has(parseUserPrincipalName(upn).domain);
    } catch {
      return false;
    }
  }

  /** The user holding a UPN, deleted ones included: read now, or known from the page's batched read. */
  type HolderOf = (upn: string) => Promise<UserRow | undefined>;
  const holderInDatabase: HolderOf = (upn) =>
    findUserByUpn(db.kysely, tenantId, upn, { includeDeleted: true });

  /** Why `input`'s UPN cannot be used, or undefined when it can (`ownId`: the user it may already be). */
  async function upnProblem(
    verified: ReadonlySet<string>,
    holderOf: HolderOf,
    input: SyncedUserInput,
    ownId: string | undefined,
  ): Promise<string | undefined> {
    if (!inVerifiedDomain(verified, input.userPrincipalName))
      return `the UPN ${input.userPrincipalName} is not in a verified domain of the tenant`;
    const holder = await holderOf(input.userPrincipalName);
    if (holder && holder.id !== ownId)
      return `another user (${holder.id}) already has the UPN ${input.userPrincipalName}`;
    return undefined;
  }

  /** The row of a new synced user of `input`. */
  function newUserRow(input: SyncedUserInput): UserRow {
    const now = clock.now().toISOString();
    return {
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
  }

  const takenReason = (input: SyncedUserInput) =>
    `the UPN ${input.userPrincipalName} was taken while this entry was read`;

  /** Writes one new user and its licences for new users (one transaction). */
  async function insertOne(input: SyncedUserInput, row: UserRow): Promise<SyncedUserResult> {
    try {
      // No credential row: the directory holds the password (pass-through sign-in, writeback).
      // The user and its licences for new users are one write.
      await db.kysely.transaction().execute(async (trx) => {
        await insertUser(trx, row);
        await assignLicensesToNewUser(trx, tenantId, row.id, row.created_at);
      });
    } catch (error) {
      // Another run (a sync by hand beside the scheduled one) created this UPN first.
      if (isWriteConflict(error)) return { outcome: 'failed', reason: takenReason(input) };
      throw error;
    }
    return { outcome: 'created', userId: row.id };
  }

  /**
   * Writes a page's new users and their licences for new users in one transaction: one insert of
   * the users, one update per subscription for its units and one insert of the licences. The
   * licences go to the users in page order, as one by one. When the write loses to another run
   * (a UPN created meanwhile), each user is written alone instead, so only that entry fails.
   */
  async function insertMany(pending: readonly PendingCreate[]): Promise<SyncedUserResult[]> {
    if (pending.length === 1 && pending[0]) return [await insertOne(pending[0].input, pending[0].row)];
    try {
      await db.kysely.transaction().execute(async (trx) => {
        await insertUsers(
          trx,
          pending.map((entry) => entry.row),
        );
        await assignLicensesToNewUsers(
          trx,
          tenantId,
          pending.map((entry) => ({ userId: entry.row.id, at: entry.row.created_at })),
        );
      });
      return pending.map((entry) => ({ outcome: 'created', userId: entry.row.id }));
    } catch (error) {
      if (!isWriteConflict(error)) throw error;
      const results: SyncedUserResult[] = [];
      for (const entry of pending) results.push(await insertOne(entry.input, entry.row));
      return results;
    }
  }

  /** Writes the entry over `existing` (matched by immutable id or by UPN); restores a soft-deleted one. */
  async function update(
    context: RequestContext,
    verified: ReadonlySet<string>,
    holderOf: HolderOf,
    existing: UserRow,
    input: SyncedUserInput,
    how: 'immutableId' | 'softMatch',
  ): Promise<SyncedUserResult> {
    const wanted = ownedColumns(input);
    // Nothing to write (the common case of a full run over a synced directory): no transaction.
    // The row was read a moment ago; a write racing with it is as if it came after this entry.
    if (
      existing.deleted_at === null &&
      (Object.entries(wanted) as Array<[keyof typeof wanted, unknown]>).every(
        ([column, value]) => existing[column] === value,
      )
    )
      return { outcome: 'unchanged', userId: existing.id };
    if (existing.upn_key !== input.userPrincipalName.toLowerCase()) {
      const problem = await upnProblem(verified, holderOf, input, existing.id);
      if (problem) return { outcome: 'failed', reason: problem };
    }
    const at = clock.now().toISOString();
    try {
      return await write(context, existing, wanted, how, at);
    } catch (error) {
      if (isWriteConflict(error)) return { outcome: 'failed', reason: takenReason(input) };
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
   * What to do with one directory entry (see the matching rules at the top of this file), given
   * the user holding its immutable id and the one holding its UPN: a result, or the new user to
   * write. Never throws for the entry's own problems (a UPN outside the verified domains, taken by
   * another user, a role holder matched by UPN): those are `failed` with the reason.
   */
  async function decide(
    context: RequestContext,
    verified: ReadonlySet<string>,
    holderOf: HolderOf,
    input: SyncedUserInput,
    byImmutableId: UserRow | undefined,
    byUpn: UserRow | undefined,
  ): Promise<SyncedUserResult | { readonly create: UserRow }> {
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
      return update(context, verified, holderOf, byImmutableId, input, 'immutableId');
    }
    if (!byUpn) {
      // Nobody holds the UPN (byUpn was just read): only its domain can stand in the way.
      if (!inVerifiedDomain(verified, input.userPrincipalName))
        return {
          outcome: 'failed',
          reason: `the UPN ${input.userPrincipalName} is not in a verified domain of the tenant`,
        };
      return { create: newUserRow(input) };
    }
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
    return update(context, verified, holderOf, byUpn, input, 'softMatch');
  }

  /** One entry, every look-up made now: for an entry whose look-ups an earlier one of its page may have changed. */
  async function applyOne(
    context: RequestContext,
    verified: ReadonlySet<string>,
    input: SyncedUserInput,
  ): Promise<SyncedUserResult> {
    const byImmutableId = await findUserByImmutableId(db.kysely, tenantId, input.immutableId);
    const byUpn = byImmutableId
      ? undefined
      : await findUserByUpn(db.kysely, tenantId, input.userPrincipalName, { includeDeleted: true });
    const decided = await decide(context, verified, holderInDatabase, input, byImmutableId, byUpn);
    return 'create' in decided ? insertOne(input, decided.create) : decided;
  }

  /**
   * Starts a sync run: the tenant's verified domains are read once for the run, and each page's
   * entries are matched with two reads (by immutable id and by UPN) and its new users written
   * with their licences in one transaction (insertMany), instead of several statements an entry.
   *
   * The outcome of every entry is the one applying the page's entries one by one gives: an entry
   * whose immutable id or UPN an earlier entry of the page has used (created, matched or renamed
   * to), or whose immutable id several users hold, is applied alone with fresh reads, after the
   * page's new users so far are written.
   */
  function startSyncRun(): SyncRun {
    let verifiedDomains: Promise<Set<string>> | undefined;
    return {
      async applyPage(context, inputs) {
        if (inputs.length === 0) return [];
        verifiedDomains ??= listVerifiedTenantDomains(db.kysely, tenantId);
        const verified = await verifiedDomains;
        const byImmutableId = new Map<string, UserRow[]>();
        for (const row of await findUsersByImmutableIds(
          db.kysely,
          tenantId,
          inputs.map((input) => input.immutableId),
        )) {
          const id = row.on_premises_immutable_id ?? '';
          byImmutableId.set(id, [...(byImmutableId.get(id) ?? []), row]);
        }
        const byUpn = new Map<string, UserRow>();
        for (const row of await findUsersByUpns(
          db.kysely,
          tenantId,
          inputs.map((input) => input.userPrincipalName),
        ))
          byUpn.set(row.upn_key, row);
        const holderInPage: HolderOf = async (upn) => byUpn.get(upn.toLowerCase());

        const results: Array<SyncedUserResult | undefined> = new Array(inputs.length);
        let pending: PendingCreate[] = [];
        const flush = async () => {
          if (pending.length === 0) return;
          const written = await insertMany(pending);
          pending.forEach((entry, i) => {
            results[entry.index] = written[i];
          });
          pending = [];
        };
        // The immutable ids and UPNs the page's earlier entries used: what the reads above may no
        // longer tell right for a later entry.
        const usedIds = new Set<string>();
        const usedUpns = new Set<string>();
        for (const [index, input] of inputs.entries()) {
          const upnKey = input.userPrincipalName.toLowerCase();
          const holders = byImmutableId.get(input.immutableId) ?? [];
          const stale = usedIds.has(input.immutableId) || usedUpns.has(upnKey) || holders.length > 1;
          usedIds.add(input.immutableId);
          usedUpns.add(upnKey);
          for (const row of [...holders, byUpn.get(upnKey)]) {
            if (!row) continue;
            usedUpns.add(row.upn_key);
            if (row.on_premises_immutable_id !== null) usedIds.add(row.on_premises_immutable_id);
          }
          if (stale) {
            await flush();
            results[index] = await applyOne(context, verified, input);
            continue;
          }
          const decided = await decide(context, verified, holderInPage, input, holders[0], byUpn.get(upnKey));
          if ('create' in decided) pending.push({ index, input, row: decided.create });
          else results[index] = decided;
        }
        await flush();
        return results.map((result) => result ?? { outcome: 'failed', reason: 'the entry was not applied' });
      },
    };
  }

  /**
   * Creates or updates the user of one directory entry (see the matching rules at the top of this
   * file). Never throws for the entry's own problems (a UPN outside the verified domains, taken by
   * another user, a role holder matched by UPN): those are `failed` with the reason.
   */
  async function applySyncedUser(context: RequestContext, input: SyncedUserInput): Promise<SyncedUserResult> {
    const [result] = await startSyncRun().applyPage(context, [input]);
    return result ?? { outcome: 'failed', reason: 'the entry was not applied' };
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

  return { applySyncedUser, startSyncRun, removeMissingSyncedUsers };
}
