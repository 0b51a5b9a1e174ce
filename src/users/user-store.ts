import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, NewUserRow, UserRow, UserUpdate } from '../platform/db/schema.js';

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
  'created_at',
  'updated_at',
  'deleted_at',
] as const satisfies ReadonlyArray<keyof UserRow>;

export async function insertUser(db: Kysely<Database>, row: NewUserRow): Promise<void> {
  await db.insertInto('users').values(row).execute();
}

/** Finds a user by object id; deleted users only when asked for. */
export async function findUserById(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
  options: { readonly includeDeleted?: boolean } = {},
): Promise<UserRow | undefined> {
  let query = db
    .selectFrom('users')
    .select(userColumns)
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id);
  if (!options.includeDeleted) query = query.where('deleted_at', 'is', null);
  return query.executeTakeFirst();
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

/** The user and their password hash, for sign-in and password change. */
export async function getForPasswordCheck(
  db: Kysely<Database>,
  tenantId: string,
  by: { readonly id: string } | { readonly upn: string },
): Promise<(UserRow & { password_hash: string | null }) | undefined> {
  let query = db
    .selectFrom('users')
    .leftJoin('credentials', 'credentials.user_id', 'users.id')
    .select(userColumns.map((c) => `users.${c}` as const))
    .select('credentials.password_hash')
    .where('users.tenant_id', '=', tenantId)
    .where('users.deleted_at', 'is', null);
  query =
    'id' in by
      ? query.where('users.id', '=', by.id)
      : query.where('users.upn_key', '=', by.upn.toLowerCase());
  return query.executeTakeFirst();
}

export async function updateUser(db: Kysely<Database>, id: string, update: UserUpdate): Promise<void> {
  await db.updateTable('users').set(update).where('id', '=', id).execute();
}

/** Sets the password hash, creating the credential row on first use. */
export async function upsertCredential(
  db: Kysely<Database>,
  userId: string,
  passwordHash: string,
  setAt: string,
): Promise<void> {
  await db
    .insertInto('credentials')
    .values({ user_id: userId, password_hash: passwordHash, set_at: setAt })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ password_hash: passwordHash, set_at: setAt }))
    .execute();
}

/** Replaces the stored hash only if it is still `expected`: a rehash at sign-in never undoes a change. */
export async function replaceHashIfUnchanged(
  db: Kysely<Database>,
  userId: string,
  expected: string,
  passwordHash: string,
): Promise<void> {
  await db
    .updateTable('credentials')
    .set({ password_hash: passwordHash })
    .where('user_id', '=', userId)
    .where('password_hash', '=', expected)
    .execute();
}

export async function addPasswordHistory(
  db: Kysely<Database>,
  userId: string,
  passwordHash: string,
  createdAt: string,
): Promise<void> {
  await db
    .insertInto('password_history')
    .values({ id: randomUUID(), user_id: userId, password_hash: passwordHash, created_at: createdAt })
    .execute();
}

/** The most recent password hashes of a user, newest first. */
export async function listPasswordHistory(
  db: Kysely<Database>,
  userId: string,
  limit: number,
): Promise<string[]> {
  const rows = await db
    .selectFrom('password_history')
    .select('password_hash')
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => r.password_hash);
}

/** Keeps only the newest `keep` history entries of a user. */
export async function trimPasswordHistory(db: Kysely<Database>, userId: string, keep: number): Promise<void> {
  const stale = await db
    .selectFrom('password_history')
    .select('id')
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .offset(keep)
    .limit(1000)
    .execute();
  if (stale.length > 0) {
    await db
      .deleteFrom('password_history')
      .where(
        'id',
        'in',
        stale.map((r) => r.id),
      )
      .execute();
  }
}

/**
 * Ends every session of a user: bumps the session version that tokens carry, records the time in
 * `signInSessionsValidFromDateTime`, and revokes refresh tokens. Run inside the caller's transaction.
 */
export async function revokeSessions(db: Kysely<Database>, userId: string, at: string): Promise<void> {
  await db
    .updateTable('users')
    .set((eb) => ({
      session_version: eb('session_version', '+', 1),
      sign_in_sessions_valid_from: at,
      updated_at: at,
    }))
    .where('id', '=', userId)
    .execute();
  await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: at })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();
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
