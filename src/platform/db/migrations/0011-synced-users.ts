import type { Kysely } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * Users imported by a directory connector's sync: `on_premises_connector_id` names the connector
 * that owns the user (so a full sync soft-deletes only its own users that left the directory),
 * and the index on the immutable id makes the sync's match of each directory entry one look-up.
 * No foreign key to `connectors`: removing a connector leaves its users as they are.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.alterTable('users').addColumn('on_premises_connector_id', 'varchar(36)').execute();
  await db.schema
    .createIndex('users_tenant_immutable_id')
    .on('users')
    .columns(['tenant_id', 'on_premises_immutable_id'])
    .execute();
  await db.schema
    .createIndex('users_tenant_connector')
    .on('users')
    .columns(['tenant_id', 'on_premises_connector_id'])
    .execute();
}
