import type { Kysely } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * HTTP exchange captures (docs/captures.md): a capture records, for a time window, the API
 * exchanges of one user, of one correlation ID, or those an administrator marked with the
 * `Rekey-Capture: on` header; each recorded exchange is one HAR 1.2 entry, redacted before it is
 * stored. Entries age out with the logs (REKEY_LOG_RETENTION_DAYS, by created_at) and captures with
 * them (by ends_at), so both retention indexes start with tenant_id as the log tables' do.
 *
 * Also the connector trace by correlation ID (connector_operations_correlation): the support
 * bundle reads the directory calls of each request it holds, not only those of operations.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('captures')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('created_by_user_id', 'varchar(36)')
    .addColumn('created_by_upn', 'varchar(256)')
    /** `user`, `correlationId` or `header`. */
    .addColumn('target', 'varchar(16)', (c) => c.notNull())
    /** Lower case; the user a `user` capture records (who may not exist yet). */
    .addColumn('user_principal_name', 'varchar(256)')
    .addColumn('user_id', 'varchar(36)')
    .addColumn('correlation_id', 'varchar(64)')
    .addColumn('ends_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('stopped_at', 'varchar(32)')
    .addColumn('max_entries', 'integer', (c) => c.notNull())
    .addColumn('entry_count', 'integer', (c) => c.notNull().defaultTo(0))
    /** Exchanges that matched after max_entries was reached: not recorded, only counted. */
    .addColumn('dropped_count', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex('captures_tenant_ends')
    .on('captures')
    .columns(['tenant_id', 'ends_at', 'id'])
    .execute();
  await db.schema
    .createIndex('captures_tenant_created')
    .on('captures')
    .columns(['tenant_id', 'created_at', 'id'])
    .execute();

  await db.schema
    .createTable('capture_entries')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('capture_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('correlation_id', 'varchar(64)')
    .addColumn('user_id', 'varchar(36)')
    .addColumn('method', 'varchar(16)', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    /** One HAR 1.2 `entry` as JSON, already redacted and with its bodies truncated. */
    .addColumn('har_entry', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('capture_entries_capture')
    .on('capture_entries')
    .columns(['capture_id', 'created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('capture_entries_tenant_time')
    .on('capture_entries')
    .columns(['tenant_id', 'created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('capture_entries_correlation')
    .on('capture_entries')
    .columns(['tenant_id', 'correlation_id', 'created_at'])
    .execute();

  await db.schema
    .createIndex('connector_operations_correlation')
    .on('connector_operations')
    .columns(['tenant_id', 'correlation_id', 'at'])
    .execute();
}
