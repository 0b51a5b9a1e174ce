import type { Kysely } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * The request counters of the rate limits (src/platform/http/rate-limit.ts): one row per limited
 * key (a client address, a user name, an administrator) and counting window, so that every
 * process over the same database counts together. A request costs one upsert; rows of windows
 * that ended are deleted as new windows begin.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('rate_limit_counters')
    .addColumn('bucket', 'varchar(400)', (c) => c.notNull())
    .addColumn('window_index', 'bigint', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    /** When the window ends, in milliseconds since the epoch: Retry-After, and the purge. */
    .addColumn('window_end_ms', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('rate_limit_counters_pk', ['bucket', 'window_index'])
    .execute();
  await db.schema
    .createIndex('rate_limit_counters_end')
    .on('rate_limit_counters')
    .column('window_end_ms')
    .execute();
}
