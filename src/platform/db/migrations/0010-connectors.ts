import type { Kysely } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * Directory connectors: one row per on-premises LDAP directory a tenant connects to. The bind
 * password is stored only sealed with the secret key (`bind_password_ciphertext`); the attribute
 * mapping is JSON text. The `last_sync_*` and `last_test_*` columns are filled by the sync and by
 * `POST /rekey/v1/connectors/{id}/test`, and stay null until then. `name_key` is the lower-cased
 * display name, unique in the tenant, so the CLI can name a connector by it.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('connectors')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id'))
    .addColumn('display_name', 'varchar(256)', (c) => c.notNull())
    .addColumn('name_key', 'varchar(256)', (c) => c.notNull())
    .addColumn('flavor', 'varchar(32)', (c) => c.notNull())
    .addColumn('url', 'varchar(2048)', (c) => c.notNull())
    .addColumn('start_tls', 'integer', (c) => c.notNull())
    .addColumn('allow_insecure', 'integer', (c) => c.notNull())
    .addColumn('ca_certificate', 'text')
    .addColumn('bind_dn', 'varchar(1024)', (c) => c.notNull())
    .addColumn('bind_password_ciphertext', 'text', (c) => c.notNull())
    .addColumn('base_dn', 'varchar(1024)', (c) => c.notNull())
    .addColumn('user_filter', 'text', (c) => c.notNull())
    .addColumn('attributes', 'text', (c) => c.notNull())
    .addColumn('writeback', 'integer', (c) => c.notNull())
    .addColumn('connect_timeout_ms', 'integer', (c) => c.notNull())
    .addColumn('operation_timeout_ms', 'integer', (c) => c.notNull())
    .addColumn('sync_interval_seconds', 'integer')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('last_sync_at', 'varchar(32)')
    .addColumn('last_sync_cursor', 'varchar(256)')
    .addColumn('last_sync_result', 'text')
    .addColumn('last_test_at', 'varchar(32)')
    .addColumn('last_test_result', 'text')
    .execute();
  await db.schema
    .createIndex('connectors_tenant_name')
    .on('connectors')
    .columns(['tenant_id', 'name_key'])
    .unique()
    .execute();
}
