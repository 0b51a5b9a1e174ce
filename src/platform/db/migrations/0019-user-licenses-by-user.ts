import type { Kysely } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * The licences of a user, read on every change and reset of a written-back user (is writeback
 * licensed?) and on every user read with `assignedLicenses`: the query names the tenant and the
 * users, and with only (tenant_id, sku_id) to go by SQLite read every licence of the tenant (27 ms
 * a read at 100,000 users). (tenant_id, user_id) makes it a lookup on both databases.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createIndex('user_licenses_tenant_user')
    .on('user_licenses')
    .columns(['tenant_id', 'user_id', 'sku_id'])
    .execute();
}
