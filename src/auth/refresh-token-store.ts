import type { Insertable, Kysely, Selectable } from 'kysely';
import { preparedQuery, rowOfParameters } from '../platform/db/prepared-query.js';
import type { Database, RefreshTokensTable } from '../platform/db/schema.js';

/*
 * Refresh tokens (`refresh_tokens`) and their families (`token_families`). Only the SHA-256 of a
 * token is stored; the sign-in service hashes the token it hands out and the one a client
 * presents. Revoking every token of a user (password change, disable, delete) happens with the
 * user's session version, in `revokeSessions` of the user store; revoking one family (a replayed
 * refresh token) happens here.
 */

/** A refresh token as stored. */
export type NewRefreshToken = Insertable<RefreshTokensTable>;

/** What the refresh grant needs to judge a presented token (never the hash itself). */
export type RefreshTokenForGrant = Pick<
  Selectable<RefreshTokensTable>,
  'id' | 'user_id' | 'client_id' | 'session_version' | 'expires_at' | 'revoked_at' | 'family_id'
>;

const refreshTokenColumns = [
  'id',
  'user_id',
  'client_id',
  'token_hash',
  'session_version',
  'created_at',
  'expires_at',
  'revoked_at',
  'family_id',
] as const satisfies ReadonlyArray<keyof RefreshTokensTable>;

/** Every sign-in stores a token (and opens its family): both inserts are prepared once. */
const refreshTokenInsert = preparedQuery((db, p: Selectable<RefreshTokensTable>) =>
  db.insertInto('refresh_tokens').values(rowOfParameters(p, refreshTokenColumns)),
);

const tokenFamilyInsert = preparedQuery((db, p: { id: string; userId: string; at: string }) =>
  db.insertInto('token_families').values({ id: p.id, user_id: p.userId, created_at: p.at, revoked_at: null }),
);

/** Stores a newly issued refresh token; run it in the transaction that logs the sign-in. */
export async function insertRefreshToken(db: Kysely<Database>, token: NewRefreshToken): Promise<void> {
  await refreshTokenInsert(db, {
    ...token,
    revoked_at: token.revoked_at ?? null,
    family_id: token.family_id ?? null,
  });
}

/** The token whose hash is `tokenHash`, spent or not, for the refresh grant. */
export async function findRefreshTokenForGrant(
  db: Kysely<Database>,
  tokenHash: string,
): Promise<RefreshTokenForGrant | undefined> {
  return db
    .selectFrom('refresh_tokens')
    .select(['id', 'user_id', 'client_id', 'session_version', 'expires_at', 'revoked_at', 'family_id'])
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

/** Opens a token family for a password sign-in; run it in the transaction that stores its first token. */
export async function insertTokenFamily(
  db: Kysely<Database>,
  family: { readonly id: string; readonly userId: string; readonly at: string },
): Promise<void> {
  await tokenFamilyInsert(db, family);
}

/**
 * Revokes a family: marks it revoked (access tokens carrying its id stop working) and revokes
 * every refresh token of it not yet spent. True for the caller that revoked it, false when it
 * already was (or, for a token older than families, when it has no row). Run it in the
 * transaction that records the revocation.
 */
export async function revokeTokenFamily(
  trx: Kysely<Database>,
  familyId: string,
  at: string,
): Promise<boolean> {
  const revoked = await trx
    .updateTable('token_families')
    .set({ revoked_at: at })
    .where('id', '=', familyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  await trx
    .updateTable('refresh_tokens')
    .set({ revoked_at: at })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .execute();
  return Number(revoked.numUpdatedRows) === 1;
}

/** True when the family was revoked; a family without a row (tokens older than families) is not. */
export async function isTokenFamilyRevoked(db: Kysely<Database>, familyId: string): Promise<boolean> {
  const row = await db
    .selectFrom('token_families')
    .select('revoked_at')
    .where('id', '=', familyId)
    .executeTakeFirst();
  return row?.revoked_at != null;
}
