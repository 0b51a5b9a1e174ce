import type { Kysely, Selectable } from 'kysely';
import type {
  AuthorizationCodesTable,
  Database,
  SignInTransactionsTable,
  SsoSessionsTable,
} from '../platform/db/schema.js';

/*
 * The rows of the browser sign-in (migration 0021): sign-in transactions, SSO sessions and
 * authorization codes. Every secret (the browser cookie, the CSRF token, the SSO cookie, the code)
 * is stored as its SHA-256 only; the service hashes what it hands out and what it is shown.
 */

export type SignInTransactionRow = Selectable<SignInTransactionsTable>;
export type SsoSessionRow = Selectable<SsoSessionsTable>;
export type AuthorizationCodeRow = Selectable<AuthorizationCodesTable>;

export async function insertSignInTransaction(
  db: Kysely<Database>,
  row: SignInTransactionRow,
): Promise<void> {
  await db.insertInto('sign_in_transactions').values(row).execute();
}

/** The live (unexpired) transaction `id` of the tenant. */
export async function findSignInTransaction(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
  now: string,
): Promise<SignInTransactionRow | undefined> {
  return db
    .selectFrom('sign_in_transactions')
    .select([
      'id',
      'tenant_id',
      'browser_hash',
      'csrf_hash',
      'request',
      'user_id',
      'sealed_password',
      'created_at',
      'expires_at',
    ])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where('expires_at', '>', now)
    .executeTakeFirst();
}

/** Records that the password was right but must be changed: the change step holds it, sealed. */
export async function holdPasswordForChange(
  db: Kysely<Database>,
  id: string,
  userId: string,
  sealedPassword: string,
): Promise<void> {
  await db
    .updateTable('sign_in_transactions')
    .set({ user_id: userId, sealed_password: sealedPassword })
    .where('id', '=', id)
    .execute();
}

/**
 * Ends a transaction (it led to a code, or a refusal ended it). True for the one caller that
 * ended it: two posts of the same form cannot both finish it.
 */
export async function deleteSignInTransaction(db: Kysely<Database>, id: string): Promise<boolean> {
  const deleted = await db.deleteFrom('sign_in_transactions').where('id', '=', id).executeTakeFirst();
  return Number(deleted.numDeletedRows) === 1;
}

/**
 * Removes transactions past their expiry, and codes that expired before `codesBefore` (kept a
 * while after expiry, so that a replayed code still finds the family to revoke).
 */
export async function deleteExpiredSignInRows(
  db: Kysely<Database>,
  now: string,
  codesBefore: string,
): Promise<void> {
  await db.deleteFrom('sign_in_transactions').where('expires_at', '<=', now).execute();
  await db.deleteFrom('authorization_codes').where('expires_at', '<=', codesBefore).execute();
}

export async function insertSsoSession(db: Kysely<Database>, row: SsoSessionRow): Promise<void> {
  await db.insertInto('sso_sessions').values(row).execute();
}

/** The SSO session whose cookie hashes to `tokenHash`, if it is not revoked nor expired. */
export async function findLiveSsoSession(
  db: Kysely<Database>,
  tenantId: string,
  tokenHash: string,
  now: string,
): Promise<SsoSessionRow | undefined> {
  return db
    .selectFrom('sso_sessions')
    .select([
      'id',
      'tenant_id',
      'user_id',
      'token_hash',
      'session_version',
      'created_at',
      'expires_at',
      'revoked_at',
    ])
    .where('tenant_id', '=', tenantId)
    .where('token_hash', '=', tokenHash)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
}

/** Ends the SSO session whose cookie hashes to `tokenHash` (sign-out). */
export async function revokeSsoSession(db: Kysely<Database>, tokenHash: string, at: string): Promise<void> {
  await db
    .updateTable('sso_sessions')
    .set({ revoked_at: at })
    .where('token_hash', '=', tokenHash)
    .where('revoked_at', 'is', null)
    .execute();
}

export async function insertAuthorizationCode(
  db: Kysely<Database>,
  row: AuthorizationCodeRow,
): Promise<void> {
  await db.insertInto('authorization_codes').values(row).execute();
}

/** The code whose hash is `codeHash`, redeemed or not, for the token endpoint. */
export async function findAuthorizationCode(
  db: Kysely<Database>,
  codeHash: string,
): Promise<AuthorizationCodeRow | undefined> {
  return db
    .selectFrom('authorization_codes')
    .select([
      'code_hash',
      'tenant_id',
      'client_id',
      'user_id',
      'redirect_uri',
      'code_challenge',
      'nonce',
      'scope',
      'session_version',
      'created_at',
      'expires_at',
      'redeemed_at',
      'family_id',
    ])
    .where('code_hash', '=', codeHash)
    .executeTakeFirst();
}

/**
 * Redeems a code into the token family `familyId`: true for the one caller that redeemed it; a
 * replayed code, or a second request racing with the same code, gets false.
 */
export async function redeemAuthorizationCode(
  db: Kysely<Database>,
  codeHash: string,
  familyId: string,
  at: string,
): Promise<boolean> {
  const redeemed = await db
    .updateTable('authorization_codes')
    .set({ redeemed_at: at, family_id: familyId })
    .where('code_hash', '=', codeHash)
    .where('redeemed_at', 'is', null)
    .executeTakeFirst();
  return Number(redeemed.numUpdatedRows) === 1;
}
