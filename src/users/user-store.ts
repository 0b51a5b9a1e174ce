import type { Kysely } from 'kysely';
import { preparedQueries, preparedQuery } from '../platform/db/prepared-query.js';
import type { Database, NewUserRow, UserRow, UserUpdate } from '../platform/db/schema.js';
import {
  type CheckedFilter,
  countRows,
  fetchPage,
  type PageRequest,
  whereFilter,
} from '../platform/odata/index.js';
import { parseRoles } from '../roles/directory-roles.js';
import { deletedUserFields, userFields } from './user-query.js';

/** Every column of `users`; the table holds no secrets (hashes live in `credentials`). */
export const userColumns = [
  'id',
  'tenant_id',
  'user_principal_name',
  'upn_key',
  'display_name',
  'given_name',
  'surname',
  'mail',
  'mail_nickname',
  'job_title',
  'usage_location',
  'account_enabled',
  'password_policies',
  'force_change_password_next_sign_in',
  'force_change_password_next_sign_in_with_mfa',
  'last_password_change_at',
  'user_type',
  'roles',
  'session_version',
  'sign_in_sessions_valid_from',
  'on_premises_sync_enabled',
  'on_premises_immutable_id',
  'on_premises_distinguished_name',
  'on_premises_sam_account_name',
  'on_premises_last_sync_at',
  'on_premises_connector_id',
  'created_at',
  'updated_at',
  'deleted_at',
] as const satisfies ReadonlyArray<keyof UserRow>;

export async function insertUser(db: Kysely<Database>, row: NewUserRow): Promise<void> {
  await db.insertInto('users').values(row).execute();
}

/** Rows per multi-row insert of users: some thirty values each, well within either database's limit. */
const userInsertChunk = 500;

/** Inserts these users with one statement per 500 rows (a sync page's new users at once). */
export async function insertUsers(db: Kysely<Database>, rows: readonly NewUserRow[]): Promise<void> {
  for (let start = 0; start < rows.length; start += userInsertChunk) {
    await db
      .insertInto('users')
      .values(rows.slice(start, start + userInsertChunk))
      .execute();
  }
}

/**
 * A user by id, by shape: `live` or `any` (deleted users too), `locked` or `plain`. Every password
 * change and sign-in reads one.
 */
const userById = preparedQueries(
  (shape: `${'live' | 'any'}:${'locked' | 'plain'}`) => (db, p: { tenantId: string; id: string }) => {
    let query = db
      .selectFrom('users')
      .select(userColumns)
      .where('tenant_id', '=', p.tenantId)
      .where('id', '=', p.id);
    if (shape.startsWith('live:')) query = query.where('deleted_at', 'is', null);
    return shape.endsWith(':locked') ? query.forUpdate() : query;
  },
);

/**
 * Finds a user by object id; deleted users only when asked for. With `lock` the row stays locked
 * until the transaction ends (`FOR UPDATE`, which platform/db makes a plain read on SQLite: see
 * row-locks.ts), for read-modify-write of a column such as `roles`.
 */
export async function findUserById(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
  options: { readonly includeDeleted?: boolean; readonly lock?: boolean } = {},
): Promise<UserRow | undefined> {
  const shape = `${options.includeDeleted ? 'any' : 'live'}:${options.lock ? 'locked' : 'plain'}` as const;
  const { rows } = await userById(shape)(db, { tenantId, id });
  return rows[0];
}

/** Users by object id, deleted or not, in one statement. */
export async function findUsersByIds(
  db: Kysely<Database>,
  tenantId: string,
  ids: readonly string[],
): Promise<UserRow[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('users')
    .select(userColumns)
    .where('tenant_id', '=', tenantId)
    .where('id', 'in', [...new Set(ids)])
    .execute();
}

/** Finds a user by UPN, case-insensitively as Entra does; deleted users only when asked for. */
export async function findUserByUpn(
  db: Kysely<Database>,
  tenantId: string,
  upn: string,
  options: { readonly includeDeleted?: boolean } = {},
): Promise<UserRow | undefined> {
  let query = db
    .selectFrom('users')
    .select(userColumns)
    .where('tenant_id', '=', tenantId)
    .where('upn_key', '=', upn.toLowerCase());
  if (!options.includeDeleted) query = query.where('deleted_at', 'is', null);
  return query.executeTakeFirst();
}

/** A live user with the password hash, by id or by `upn_key`. */
const userWithPasswordHash = preparedQueries(
  (by: 'users.id' | 'users.upn_key') => (db, p: { tenantId: string; key: string }) =>
    db
      .selectFrom('users')
      .leftJoin('credentials', 'credentials.user_id', 'users.id')
      .select(userColumns.map((c) => `users.${c}` as const))
      .select('credentials.password_hash')
      .where('users.tenant_id', '=', p.tenantId)
      .where('users.deleted_at', 'is', null)
      .where(by, '=', p.key),
);

/** The user and their password hash, for sign-in and password change. */
export async function getForPasswordCheck(
  db: Kysely<Database>,
  tenantId: string,
  by: { readonly id: string } | { readonly upn: string },
): Promise<(UserRow & { password_hash: string | null }) | undefined> {
  const { rows } =
    'id' in by
      ? await userWithPasswordHash('users.id')(db, { tenantId, key: by.id })
      : await userWithPasswordHash('users.upn_key')(db, { tenantId, key: by.upn.toLowerCase() });
  return rows[0];
}

export async function updateUser(db: Kysely<Database>, id: string, update: UserUpdate): Promise<void> {
  await db.updateTable('users').set(update).where('id', '=', id).execute();
}

const passwordChangeUpdate = preparedQuery((db, p: { id: string; at: string; forceChange: 0 | 1 }) =>
  db
    .updateTable('users')
    .set({
      last_password_change_at: p.at,
      force_change_password_next_sign_in: p.forceChange,
      force_change_password_next_sign_in_with_mfa: 0,
      updated_at: p.at,
    })
    .where('id', '=', p.id),
);

/**
 * Records a new password's time and whether it must be changed at the next sign-in; a new
 * password ends any demand to change it with MFA. Every change runs it.
 */
export async function updatePasswordChange(
  db: Kysely<Database>,
  id: string,
  change: { readonly at: string; readonly forceChange: boolean },
): Promise<void> {
  await passwordChangeUpdate(db, { id, at: change.at, forceChange: change.forceChange ? 1 : 0 });
}

const sessionVersionBump = preparedQuery((db, p: { userId: string; at: string }) =>
  db
    .updateTable('users')
    .set((eb) => ({
      session_version: eb('session_version', '+', 1),
      sign_in_sessions_valid_from: p.at,
      updated_at: p.at,
    }))
    .where('id', '=', p.userId),
);

const refreshTokenRevocation = preparedQuery((db, p: { userId: string; at: string }) =>
  db
    .updateTable('refresh_tokens')
    .set({ revoked_at: p.at })
    .where('user_id', '=', p.userId)
    .where('revoked_at', 'is', null),
);

/**
 * Ends every session of a user: bumps the session version that tokens carry, records the time in
 * `signInSessionsValidFromDateTime`, and revokes refresh tokens. Run inside the caller's transaction.
 */
export async function revokeSessions(db: Kysely<Database>, userId: string, at: string): Promise<void> {
  await sessionVersionBump(db, { userId, at });
  await refreshTokenRevocation(db, { userId, at });
}

/** True once the tenant has any user, deleted or not. */
export async function tenantHasUsers(db: Kysely<Database>, tenantId: string): Promise<boolean> {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Marks a live user deleted (soft delete); true when a row changed. Run with revokeSessions. */
export async function markUserDeleted(db: Kysely<Database>, userId: string, at: string): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ deleted_at: at, updated_at: at })
    .where('id', '=', userId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Brings a soft-deleted user back; true when a row changed. */
export async function clearUserDeleted(db: Kysely<Database>, userId: string, at: string): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ deleted_at: null, updated_at: at })
    .where('id', '=', userId)
    .where('deleted_at', 'is not', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Removes a soft-deleted user for good. Credentials, history, operations and refresh tokens go
 * with it through their ON DELETE CASCADE keys; logs keep the user's id and name as text.
 */
export async function purgeDeletedUser(
  db: Kysely<Database>,
  tenantId: string,
  userId: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom('users')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', userId)
    .where('deleted_at', 'is not', null)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

/**
 * The ids of the live, enabled users that hold the Global Administrator role. With `lock` the
 * rows stay locked until the transaction ends (`FOR UPDATE`; see platform/db/row-locks.ts for
 * SQLite), so two administrators disabling each other at the same moment cannot both pass the
 * last-administrator check.
 */
export async function listEnabledGlobalAdministratorIds(
  db: Kysely<Database>,
  tenantId: string,
  options: { readonly lock: boolean },
): Promise<string[]> {
  let query = db
    .selectFrom('users')
    .select(['id', 'roles'])
    .where('tenant_id', '=', tenantId)
    .where('deleted_at', 'is', null)
    .where('account_enabled', '=', 1)
    // Roles are a JSON array in text; LIKE narrows the rows, the parse below decides.
    .where('roles', 'like', '%"Global Administrator"%');
  if (options.lock) query = query.forUpdate();
  const rows = await query.execute();
  return rows.filter((row) => parseRoles(row.roles).includes('Global Administrator')).map((row) => row.id);
}

/** A live user who holds at least one directory role, with the roles as stored (JSON text). */
export interface RoleHolderRow {
  readonly id: string;
  readonly roles: string;
}

/**
 * The live users who hold any directory role (deleted users' roles wait for a restore), or only
 * `userId` when given. Users without a role store `[]`, which the query leaves out.
 */
export async function listRoleHolders(
  db: Kysely<Database>,
  tenantId: string,
  options: { readonly userId?: string } = {},
): Promise<RoleHolderRow[]> {
  let query = db
    .selectFrom('users')
    .select(['id', 'roles'])
    .where('tenant_id', '=', tenantId)
    .where('deleted_at', 'is', null)
    .where('roles', '<>', '[]');
  if (options.userId !== undefined) query = query.where('id', '=', options.userId);
  return query.orderBy('id').execute();
}

/** One page of a user list, and the total when `$count=true` asked for it. */
export interface UserListPage {
  readonly rows: UserRow[];
  readonly nextSkipToken: string | undefined;
  readonly count: number | undefined;
}

/**
 * Lists live users (or, with `deleted`, soft-deleted ones) matching a checked OData filter, one
 * keyset page at a time, so that paging stays exact while users are added or removed.
 */
export async function listUsersPage(
  db: Kysely<Database>,
  tenantId: string,
  query: {
    readonly deleted: boolean;
    readonly filter: CheckedFilter | undefined;
    readonly page: PageRequest;
    readonly count: boolean;
  },
): Promise<UserListPage> {
  const fields = query.deleted ? deletedUserFields : userFields;
  const scoped = db
    .selectFrom('users')
    .select(userColumns)
    .where('tenant_id', '=', tenantId)
    .where('deleted_at', query.deleted ? 'is not' : 'is', null);
  const base = whereFilter(scoped, query.filter, fields);
  const page = await fetchPage(base, query.page, fields);
  return {
    rows: page.rows,
    nextSkipToken: page.nextSkipToken,
    count: query.count ? await countRows(base) : undefined,
  };
}

/** The user (live or soft-deleted) a directory sync imported with this immutable id, if any. */
export async function findUserByImmutableId(
  db: Kysely<Database>,
  tenantId: string,
  immutableId: string,
  options: { readonly lock?: boolean } = {},
): Promise<UserRow | undefined> {
  let query = db
    .selectFrom('users')
    .select(userColumns)
    .where('tenant_id', '=', tenantId)
    .where('on_premises_immutable_id', '=', immutableId);
  if (options.lock) query = query.forUpdate();
  return query.executeTakeFirst();
}

/** Keys per IN list of the batched look-ups below. */
const lookupChunk = 500;

/**
 * The users, deleted ones included, holding any of these immutable ids (several may hold one: a
 * cloud user given it by hand), read with one statement per 500 ids: a sync page's matches at once.
 */
export async function findUsersByImmutableIds(
  db: Kysely<Database>,
  tenantId: string,
  immutableIds: readonly string[],
): Promise<UserRow[]> {
  const unique = [...new Set(immutableIds)];
  const rows: UserRow[] = [];
  for (let start = 0; start < unique.length; start += lookupChunk) {
    rows.push(
      ...(await db
        .selectFrom('users')
        .select(userColumns)
        .where('tenant_id', '=', tenantId)
        .where('on_premises_immutable_id', 'in', unique.slice(start, start + lookupChunk))
        .execute()),
    );
  }
  return rows;
}

/**
 * The users, deleted ones included, holding any of these UPNs (case-insensitively), read with one
 * statement per 500 UPNs: a sync page's soft matches and UPN checks at once.
 */
export async function findUsersByUpns(
  db: Kysely<Database>,
  tenantId: string,
  upns: readonly string[],
): Promise<UserRow[]> {
  const keys = [...new Set(upns.map((upn) => upn.toLowerCase()))];
  const rows: UserRow[] = [];
  for (let start = 0; start < keys.length; start += lookupChunk) {
    rows.push(
      ...(await db
        .selectFrom('users')
        .select(userColumns)
        .where('tenant_id', '=', tenantId)
        .where('upn_key', 'in', keys.slice(start, start + lookupChunk))
        .execute()),
    );
  }
  return rows;
}

/** The live users a connector's sync owns, by id and immutable id: what a full sync compares against. */
export async function listConnectorUsers(
  db: Kysely<Database>,
  tenantId: string,
  connectorId: string,
): Promise<Array<{ readonly id: string; readonly immutableId: string | null }>> {
  const rows = await db
    .selectFrom('users')
    .select(['id', 'on_premises_immutable_id'])
    .where('tenant_id', '=', tenantId)
    .where('on_premises_connector_id', '=', connectorId)
    .where('deleted_at', 'is', null)
    .execute();
  return rows.map((row) => ({ id: row.id, immutableId: row.on_premises_immutable_id }));
}
