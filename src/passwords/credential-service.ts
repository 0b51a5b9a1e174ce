import type { Kysely } from 'kysely';
import type { Database } from '../platform/db/schema.js';
import {
  addPasswordHistory,
  replaceHashIfUnchanged,
  replaceHistoryHash,
  trimPasswordHistory,
  upsertCredential,
} from './credential-store.js';

/*
 * How a password hash is stored, for every feature that sets one: a user's first password
 * (src/users), every change and reset (the password operation's commitCloud step) and the rehash
 * at sign-in (src/auth). The tables are the passwords feature's; see credential-store.ts.
 */

/**
 * Password history entries kept per user: the most either history setting (historyCountOnChange,
 * historyCountOnReset) can ask for, so raising a setting finds the history already there.
 */
export const passwordHistoryDepth = 24;

/**
 * Stores a new password's hash as the user's credential, adds it to their history and drops
 * history beyond {@link passwordHistoryDepth}. Pass the transaction of the change, so the hash,
 * the history and the rest of the change commit together.
 */
export async function storePasswordHash(
  trx: Kysely<Database>,
  userId: string,
  passwordHash: string,
  at: string,
): Promise<void> {
  await upsertCredential(trx, userId, passwordHash, at);
  await addPasswordHistory(trx, userId, passwordHash, at);
  await trimPasswordHistory(trx, userId, passwordHistoryDepth);
}

/**
 * Replaces the hash of a password that was just verified with a hash of it under the current
 * argon2id parameters, only if the stored hash is still `verifiedHash`: a rehash at sign-in never
 * undoes a change that committed meanwhile. The history entry of the password gets the same new
 * hash in the same transaction, so the current password's hash in `credentials` and in the history
 * stay equal (the dry run relies on it to leave the current password out); its dates stay as they are.
 */
export async function storeRehashedPassword(
  db: Kysely<Database>,
  userId: string,
  verifiedHash: string,
  passwordHash: string,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (await replaceHashIfUnchanged(trx, userId, verifiedHash, passwordHash)) {
      await replaceHistoryHash(trx, userId, verifiedHash, passwordHash);
    }
  });
}
