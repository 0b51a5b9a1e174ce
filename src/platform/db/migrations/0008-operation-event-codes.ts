import type { Kysely } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * Each entry of an operation's history keeps the catalog code it was recorded with and whether
 * that failure was retryable (both null for a move without an error), so a history read alone says
 * why each retry was scheduled and why the operation ended. The list of operations pages newest
 * first by (created_at, id) within a tenant; its index ends with that order, as the logs' do.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.alterTable('password_operation_events').addColumn('code', 'integer').execute();
  await db.schema.alterTable('password_operation_events').addColumn('retryable', 'integer').execute();
  await db.schema
    .createIndex('password_operations_tenant_time')
    .on('password_operations')
    .columns(['tenant_id', 'created_at', 'id'])
    .execute();
}
