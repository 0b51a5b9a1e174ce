import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * Smart lockout state, familiar networks, and the indexes the sign-in and audit log queries need
 * at ten million rows.
 *
 * Every log index starts with tenant_id and ends with the columns of the keyset order
 * (time, then id, both descending in use), so that a page is one index range scan read backwards
 * and never a sort. See docs/logs.md for the query each index serves.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  // One row per user and network kind: failures from familiar and unfamiliar networks are
  // counted apart, so an attacker elsewhere cannot lock the user out of their usual network.
  await db.schema
    .createTable('lockout_states')
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('network', 'varchar(16)', (c) => c.notNull())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('failure_count', 'integer', (c) => c.notNull())
    .addColumn('bad_fingerprints', 'varchar(256)', (c) => c.notNull())
    .addColumn('locked_until', 'varchar(32)')
    .addColumn('lockout_count', 'integer', (c) => c.notNull())
    .addColumn('last_failure_at', 'varchar(32)')
    .addColumn('last_lockout_at', 'varchar(32)')
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('lockout_states_pk', ['user_id', 'network'])
    .execute();
  await db.schema
    .createIndex('lockout_states_locked')
    .on('lockout_states')
    .columns(['tenant_id', 'locked_until'])
    .execute();

  // Networks a user has signed in from successfully: what makes a network "familiar".
  await db.schema
    .createTable('familiar_networks')
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('network_key', 'varchar(64)', (c) => c.notNull())
    .addColumn('first_seen_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('last_seen_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('familiar_networks_pk', ['user_id', 'network_key'])
    .execute();

  // The lower-cased UPN, kept by the application, so `userPrincipalName eq` ignores case and
  // still uses an index (as users.upn_key does).
  await db.schema
    .alterTable('sign_ins')
    .addColumn('upn_key', 'varchar(256)', (c) => c.notNull().defaultTo(''))
    .execute();
  await sql`update sign_ins set upn_key = lower(user_principal_name)`.execute(db);

  await db.schema.dropIndex('sign_ins_tenant_time').execute();
  await db.schema.dropIndex('sign_ins_correlation').execute();
  await db.schema.dropIndex('sign_ins_user_time').execute();
  // The default listing (newest first) and time ranges; error_code makes "count by error code
  // since T" an index-only scan.
  await db.schema
    .createIndex('sign_ins_time')
    .on('sign_ins')
    .columns(['tenant_id', 'created_at', 'id', 'error_code'])
    .execute();
  await db.schema
    .createIndex('sign_ins_user')
    .on('sign_ins')
    .columns(['tenant_id', 'user_id', 'created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('sign_ins_upn')
    .on('sign_ins')
    .columns(['tenant_id', 'upn_key', 'created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('sign_ins_correlation')
    .on('sign_ins')
    // With the order columns the index serves the whole query, so SQLite's planner picks it even
    // before ANALYZE has given it statistics.
    .columns(['tenant_id', 'correlation_id', 'created_at', 'id'])
    .execute();
  // `status/errorCode eq 50053`, newest first: rare codes are found without scanning the rest.
  await db.schema
    .createIndex('sign_ins_error')
    .on('sign_ins')
    .columns(['tenant_id', 'error_code', 'created_at', 'id'])
    .execute();

  // The application behind an audited action, for `initiatedBy/app/appId eq`.
  await db.schema.alterTable('directory_audits').addColumn('initiated_by_app_id', 'varchar(36)').execute();

  await db.schema.dropIndex('directory_audits_tenant_time').execute();
  await db.schema.dropIndex('directory_audits_correlation').execute();
  await db.schema
    .createIndex('directory_audits_time')
    .on('directory_audits')
    .columns(['tenant_id', 'activity_at', 'id'])
    .execute();
  await db.schema
    .createIndex('directory_audits_correlation')
    .on('directory_audits')
    .columns(['tenant_id', 'correlation_id', 'activity_at', 'id'])
    .execute();
  await db.schema
    .createIndex('directory_audits_initiator')
    .on('directory_audits')
    .columns(['tenant_id', 'initiated_by_user_id', 'activity_at', 'id'])
    .execute();

  // One row per target of an audit event, for `targetResources/any(t: t/id eq '...')`.
  await db.schema
    .createTable('directory_audit_targets')
    .addColumn('audit_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('target_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('activity_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('directory_audit_targets_pk', ['audit_id', 'target_id'])
    .execute();
  await db.schema
    .createIndex('directory_audit_targets_target')
    .on('directory_audit_targets')
    .columns(['tenant_id', 'target_id', 'activity_at'])
    .execute();
  await db.schema
    .createIndex('directory_audit_targets_time')
    .on('directory_audit_targets')
    .columns(['tenant_id', 'activity_at'])
    .execute();

  // Existing audit rows get their target rows now.
  const audits = await sql<{
    id: string;
    tenant_id: string;
    activity_at: string;
    target_resources: string;
  }>`select id, tenant_id, activity_at, target_resources from directory_audits`.execute(db);
  for (const audit of audits.rows) {
    const targets = JSON.parse(audit.target_resources) as Array<{ id?: unknown }>;
    const ids = new Set(targets.map((t) => (typeof t.id === 'string' ? t.id : '')).filter(Boolean));
    for (const targetId of ids) {
      await sql`insert into directory_audit_targets (audit_id, target_id, tenant_id, activity_at)
        values (${audit.id}, ${targetId}, ${audit.tenant_id}, ${audit.activity_at})`.execute(db);
    }
  }
}
