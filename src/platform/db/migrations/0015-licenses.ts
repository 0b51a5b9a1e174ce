import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * Licences: the tenant's subscriptions (`subscribed_skus`, one row per SKU, with its units and
 * status) and each user's assigned licences (`user_licenses`, with the service plans turned off).
 * `consumed_units` counts the assignments of the SKU; it is changed in the transaction that adds or
 * removes one, by a conditional update that never takes it past `enabled_units`, so two assignments
 * racing for the last unit cannot both win.
 *
 * Every existing tenant starts with the Entra ID P1 subscription (skuId 078d2b04-..., AAD_PREMIUM)
 * with 1,000,000 units, assigned to new users, and every existing user gets it: nothing that worked
 * before this migration is refused after it until an operator changes the subscriptions.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('subscribed_skus')
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id'))
    .addColumn('sku_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('sku_part_number', 'varchar(128)', (c) => c.notNull())
    .addColumn('capability_status', 'varchar(16)', (c) => c.notNull())
    .addColumn('enabled_units', 'integer', (c) => c.notNull())
    .addColumn('consumed_units', 'integer', (c) => c.notNull())
    .addColumn('assign_to_new_users', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('subscribed_skus_pk', ['tenant_id', 'sku_id'])
    .execute();
  await db.schema
    .createTable('user_licenses')
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('sku_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('disabled_plans', 'text', (c) => c.notNull())
    .addColumn('assigned_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('user_licenses_pk', ['user_id', 'sku_id'])
    .execute();
  await db.schema
    .createIndex('user_licenses_tenant_sku')
    .on('user_licenses')
    .columns(['tenant_id', 'sku_id'])
    .execute();

  const now = new Date().toISOString();
  const p1 = '078d2b04-f1bd-4111-bbd4-b4b1b354cef4';
  await sql`insert into subscribed_skus (tenant_id, sku_id, sku_part_number, capability_status, enabled_units,
    consumed_units, assign_to_new_users, created_at, updated_at)
    select t.id, ${p1}, 'AAD_PREMIUM', 'Enabled', 1000000,
      (select count(*) from users u where u.tenant_id = t.id), 1, ${now}, ${now}
    from tenants t`.execute(db);
  await sql`insert into user_licenses (user_id, sku_id, tenant_id, disabled_plans, assigned_at)
    select u.id, ${p1}, u.tenant_id, '[]', ${now} from users u`.execute(db);
}
