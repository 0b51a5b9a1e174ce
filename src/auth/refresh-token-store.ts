import type { Insertable, Kysely, Selectable } from 'kysely';
import type { Database, RefreshTokensTable } from '../platform/db/schema.js';

/*
 * Refresh tokens (`refresh_tokens`). Only the SHA-256 of a token is stored; the sign-in service
 * hashes the token it hands out and the one a client presents. Revoking every token of a user
 * (password change, disable, delete) happens with the user's session version, in
 * `revokeSessions` of the user store.
 */

/** A refresh token as stored. */
export type NewRefreshToken = Insertable<RefreshTokensTable>;

/** What the refresh grant needs to judge a presented token (never the hash itself). */
export type RefreshTokenForGrant = Pick<
  Selectable<RefreshTokensTable>,
  'id' | 'user_id' | 'client_id' | 'session_version' | 'expires_at' | 'revoked_at'
>;

/** Stores a newly issued refresh token; run it in the transaction that logs the sign-in. */
export async function insertRefreshToken(db: Kysely<Database>, token: NewRefreshToken): Promise<void> {
  await db.insertInto('refresh_tokens').values(token).execute();
}

/** The token whose hash is `tokenHash`, spent or not, for the refresh grant. */
export async function findRefreshTokenForGrant(
  db: Kysely<Database>,
  tokenHash: string,
): Promise<RefreshTokenForGrant | undefined> {
  return db
    .selectFrom('refresh_tokens')
    .select(['id', 'user_id', 'client_id', 'session_version', 'expires_at', 'revoked_at'])
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst();
}

/**
 * Spends a token on rotation: marks it revoked unless it already was. True for the one caller
 * that spent it; a replayed token, or a second request racing with the same token, gets false.
 */
export async function spendRefreshToken(db: Kysely<Database>, id: string, at: string): Promise<boolean> {
  const spent = await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: at })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(spent.numUpdatedRows) === 1;
}
