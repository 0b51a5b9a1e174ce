import type { Kysely } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * Service status: the incidents Rekey opens by itself when an error code's rate crosses its
 * threshold, with their posts (Graph's serviceHealthIssue and its posts), kept 30 days after
 * they are resolved; the claim that lets one process at a time evaluate the rules; and the index
 * the rules count failed operations by.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('service_incidents')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull())
    /** The rule that opened it (one open incident per rule, and per connector for connector rules). */
    .addColumn('rule', 'varchar(64)', (c) => c.notNull())
    /** The component it is about: `api`, `database`, `workerQueue` or `connector:<id>`. */
    .addColumn('service', 'varchar(64)', (c) => c.notNull())
    .addColumn('title', 'varchar(256)', (c) => c.notNull())
    .addColumn('classification', 'varchar(16)', (c) => c.notNull())
    /** Graph's serviceHealthStatus while it lasts; `serviceRestored` once resolved. */
    .addColumn('status', 'varchar(32)', (c) => c.notNull())
    .addColumn('impact_description', 'text', (c) => c.notNull())
    .addColumn('error_code', 'integer', (c) => c.notNull())
    .addColumn('users_affected', 'integer', (c) => c.notNull())
    .addColumn('requests_affected', 'integer', (c) => c.notNull())
    .addColumn('is_resolved', 'integer', (c) => c.notNull())
    .addColumn('start_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('end_at', 'varchar(32)')
    .addColumn('last_modified_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  // The open incident of a rule, found at every evaluation.
  await db.schema
    .createIndex('service_incidents_open')
    .on('service_incidents')
    .columns(['tenant_id', 'is_resolved', 'rule', 'service'])
    .execute();
  // The list, newest first, and the purge of resolved incidents past 30 days.
  await db.schema
    .createIndex('service_incidents_time')
    .on('service_incidents')
    .columns(['tenant_id', 'start_at', 'id'])
    .execute();

  await db.schema
    .createTable('service_incident_posts')
    // Dialect choice: SQLite's rowid alias versus PostgreSQL's identity column.
    .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
      dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('incident_id', 'varchar(36)', (c) =>
      c.notNull().references('service_incidents.id').onDelete('cascade'),
    )
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('post_type', 'varchar(16)', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('service_incident_posts_incident')
    .on('service_incident_posts')
    .columns(['incident_id', 'id'])
    .execute();

  // The incident rules count the operations that failed with given codes in a recent window.
  await db.schema
    .createIndex('password_operations_error_time')
    .on('password_operations')
    .columns(['tenant_id', 'error_code', 'updated_at'])
    .execute();

  // One row per tenant: who evaluates the incident rules now, and until when nobody else may.
  await db.schema
    .createTable('status_evaluations')
    .addColumn('tenant_id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('owner', 'varchar(64)')
    .addColumn('claimed_until', 'varchar(32)')
    .addColumn('evaluated_at', 'varchar(32)')
    .execute();
}
