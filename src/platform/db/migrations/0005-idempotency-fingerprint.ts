import type { Kysely } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * A password operation accepted with an `Idempotency-Key` keeps a keyed fingerprint of the
 * request it was accepted for (an HMAC under the secret key, never the password itself), so that
 * the same key sent with a different request is refused instead of answered with the first
 * operation. Rows accepted before this migration have none and are matched on the key alone.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .alterTable('password_operations')
    .addColumn('idempotency_fingerprint', 'varchar(64)')
    .execute();
}
