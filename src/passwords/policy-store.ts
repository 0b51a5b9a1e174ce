import type { Kysely } from 'kysely';
import type { Database } from '../platform/db/schema.js';

/** When the user's current password was set (credentials.set_at), or null when they have none. */
export async function findPasswordSetAt(db: Kysely<Database>, userId: string): Promise<string | null> {
  const row = await db
    .selectFrom('credentials')
    .select('set_at')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.set_at ?? null;
}

/**
 * The hash of the user's current password, or null when they have none: for leaving the current
 * password out of comparisons that must not become a way to test it.
 */
export async function findCurrentPasswordHash(db: Kysely<Database>, userId: string): Promise<string | null> {
  const row = await db
    .selectFrom('credentials')
    .select('password_hash')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.password_hash ?? null;
}
