import type { Kysely } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * The connector trace: one row per LDAP operation a connector made for a password operation or a
 * sign-in (bind, search, password modify), with its DN, LDAP result code, password-policy detail
 * and latency. Never a password or bind secret. Read by operation (its detail) and by connector.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('connector_operations')
    .addColumn('id', 'varchar(36)', (col) => col.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (col) => col.notNull())
    .addColumn('connector_id', 'varchar(36)')
    .addColumn('operation_id', 'varchar(36)')
    .addColumn('operation', 'varchar(32)', (col) => col.notNull())
    .addColumn('dn', 'text')
    .addColumn('ldap_result_code', 'integer')
    .addColumn('ppolicy_error', 'varchar(64)')
    .addColumn('diagnostic', 'text')
    .addColumn('latency_ms', 'integer', (col) => col.notNull())
    .addColumn('correlation_id', 'varchar(64)', (col) => col.notNull())
    .addColumn('at', 'varchar(32)', (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('connector_operations_operation')
    .on('connector_operations')
    .columns(['tenant_id', 'operation_id', 'at'])
    .execute();
  await db.schema
    .createIndex('connector_operations_connector')
    .on('connector_operations')
    .columns(['tenant_id', 'connector_id', 'at'])
    .execute();
}
