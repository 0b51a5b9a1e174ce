import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * Two reads every password change makes, each through an index that answers it alone:
 *
 * - password_operations_unfinished (user_id), over the operations still going only. Every change
 *   asks whether its user has one (the guard that serialises a user's changes). Through
 *   password_operations_user that read went over every operation the user ever had, one more with
 *   each change; through this index it reads the few still going. An operation that ends at once
 *   (every cloud-only change) is never in it, so it costs that change nothing to keep. The query
 *   must spell the same condition, with the same literals, for either database to use it.
 * - password_history_user gains `id` at its end: the history is read and trimmed newest first by
 *   (created_at, id), which the index now gives in order, without a sort.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await sql`create index password_operations_unfinished on password_operations (user_id) where state in ('notStarted', 'running', 'retryScheduled')`.execute(
    db,
  );
  await db.schema.dropIndex('password_history_user').execute();
  await db.schema
    .createIndex('password_history_user')
    .on('password_history')
    .columns(['user_id', 'created_at', 'id'])
    .execute();
}
