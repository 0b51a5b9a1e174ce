import type { Kysely } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * Tenant settings documents (password policy, Password Protection, and later lockout and reset
 * policies): one row per document, so that two administrators changing different documents never
 * overwrite each other, and a version per document for optimistic concurrency and for caches
 * (the compiled banned-term matcher) to know when to rebuild.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('tenant_settings')
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id'))
    .addColumn('name', 'varchar(64)', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_by', 'varchar(256)')
    .addPrimaryKeyConstraint('tenant_settings_pk', ['tenant_id', 'name'])
    .execute();
}
