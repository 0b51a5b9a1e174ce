import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { preparedQuery } from '../platform/db/prepared-query.js';
import type { Database } from '../platform/db/schema.js';

/*
 * The password hashes of the directory's users (`credentials`) and the hashes they had before
 * (`password_history`): every statement that reads or writes one. Other features reach them
 * through credential-service.ts. The statements every password change runs are prepared once.
 */

const currentPasswordHash = preparedQuery((db, p: { userId: string }) =>
  db.selectFrom('credentials').select('password_hash').where('user_id', '=', p.userId),
);

const credentialUpsert = preparedQuery((db, p: { userId: string; passwordHash: string; setAt: string }) =>
  db
    .insertInto('credentials')
    .values({ user_id: p.userId, password_hash: p.passwordHash, set_at: p.setAt })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ password_hash: p.passwordHash, set_at: p.setAt })),
);

const historyInsert = preparedQuery(
  (db, p: { id: string; userId: string; passwordHash: string; createdAt: string }) =>
    db
      .insertInto('password_history')
      .values({ id: p.id, user_id: p.userId, password_hash: p.passwordHash, created_at: p.createdAt }),
);

const historyTrim = preparedQuery((db, p: { userId: string; keep: number }) =>
  db.deleteFrom('password_history').where('id', 'in', (eb) =>
    eb
      .selectFrom('password_history')
      .select('id')
      .where('user_id', '=', p.userId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      // LIMIT before OFFSET, as SQLite requires; PostgreSQL takes either order.
      .limit(1000)
      .offset(p.keep),
  ),
);

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
  const { rows } = await currentPasswordHash(db, { userId });
  return rows[0]?.password_hash ?? null;
}

/** Sets the password hash, creating the credential row on first use. */
export async function upsertCredential(
  db: Kysely<Database>,
  userId: string,
  passwordHash: string,
  setAt: string,
): Promise<void> {
  await credentialUpsert(db, { userId, passwordHash, setAt });
}

/**
 * Replaces the stored hash only if it is still `expected`: a rehash at sign-in never undoes a
 * change. True when it replaced it.
 */
export async function replaceHashIfUnchanged(
  db: Kysely<Database>,
  userId: string,
  expected: string,
  passwordHash: string,
): Promise<boolean> {
  const replaced = await db
    .updateTable('credentials')
    .set({ password_hash: passwordHash })
    .where('user_id', '=', userId)
    .where('password_hash', '=', expected)
    .executeTakeFirst();
  return Number(replaced.numUpdatedRows) === 1;
}

/** Replaces `expected` with `passwordHash` in the user's history: the same password, hashed anew. */
export async function replaceHistoryHash(
  db: Kysely<Database>,
  userId: string,
  expected: string,
  passwordHash: string,
): Promise<void> {
  await db
    .updateTable('password_history')
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
  await historyInsert(db, { id: randomUUID(), userId, passwordHash, createdAt });
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

/**
 * Keeps only the newest `keep` history entries of a user, in one statement (it runs on every
 * change). At most 1,000 older entries go at a time; a change adds one.
 */
export async function trimPasswordHistory(db: Kysely<Database>, userId: string, keep: number): Promise<void> {
  await historyTrim(db, { userId, keep });
}
