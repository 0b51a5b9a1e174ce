import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * The connector trace as connector health reads it: each LDAP operation's `outcome` (`success`,
 * `refused` when the directory answered for the user's own reason such as a wrong password or its
 * password policy, `error` when the connector or the directory failed), the failure's reason and
 * catalog code, and an index on (tenant_id, at) for log retention, which deletes the oldest rows
 * of a tenant in batches. Rows kept before this migration had no reason: an answer of 0 is a
 * success, a refused user bind (49) a refusal, anything else an error.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.alterTable('connector_operations').addColumn('outcome', 'varchar(16)').execute();
  await db.schema.alterTable('connector_operations').addColumn('failure_reason', 'varchar(32)').execute();
  await db.schema.alterTable('connector_operations').addColumn('code', 'integer').execute();
  await sql`
    update connector_operations set outcome = case
      when ldap_result_code = 0 then 'success'
      when operation = 'userBind' and ldap_result_code = 49 then 'refused'
      else 'error' end
  `.execute(db);
  await db.schema
    .createIndex('connector_operations_tenant_at')
    .on('connector_operations')
    .columns(['tenant_id', 'at'])
    .execute();
}
