import type { Kysely } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * The event log: structured entries in two channels (`application`, `security`), each with a
 * Rekey event id (docs/event-log.md), level, source, message and correlation ID. Every index
 * starts with tenant_id and ends with the keyset order (created_at, id), so a filtered page is one
 * index range read backwards, as the sign-in and audit logs are.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('event_log')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('channel', 'varchar(16)', (c) => c.notNull())
    .addColumn('level', 'varchar(16)', (c) => c.notNull())
    .addColumn('event_id', 'integer', (c) => c.notNull())
    .addColumn('source', 'varchar(64)', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('correlation_id', 'varchar(64)')
    .addColumn('user_id', 'varchar(64)')
    /** JSON object of the entry's particulars (codes, ids); never a secret. */
    .addColumn('details', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('event_log_time')
    .on('event_log')
    .columns(['tenant_id', 'created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('event_log_channel')
    .on('event_log')
    .columns(['tenant_id', 'channel', 'created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('event_log_event_id')
    .on('event_log')
    .columns(['tenant_id', 'event_id', 'created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('event_log_correlation')
    .on('event_log')
    .columns(['tenant_id', 'correlation_id', 'created_at', 'id'])
    .execute();
}
