import type { Kysely } from 'kysely';
import type { DialectName } from '../database.js';

/** The first schema: tenant, directory, credentials, operations, logs and keys. */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('tenants')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('display_name', 'varchar(256)', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('domains')
    .addColumn('name', 'varchar(253)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id'))
    .addColumn('authentication_type', 'varchar(16)', (c) => c.notNull())
    .addColumn('is_default', 'integer', (c) => c.notNull())
    .addColumn('is_initial', 'integer', (c) => c.notNull())
    .addColumn('is_verified', 'integer', (c) => c.notNull())
    .addColumn('password_change_url', 'varchar(2048)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('applications')
    .addColumn('app_id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id'))
    .addColumn('display_name', 'varchar(256)', (c) => c.notNull())
    .addColumn('is_builtin', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('users')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id'))
    .addColumn('user_principal_name', 'varchar(113)', (c) => c.notNull())
    .addColumn('upn_key', 'varchar(113)', (c) => c.notNull())
    .addColumn('display_name', 'varchar(256)', (c) => c.notNull())
    .addColumn('given_name', 'varchar(64)')
    .addColumn('surname', 'varchar(64)')
    .addColumn('mail', 'varchar(256)')
    .addColumn('mail_nickname', 'varchar(64)', (c) => c.notNull())
    .addColumn('job_title', 'varchar(128)')
    .addColumn('usage_location', 'varchar(2)')
    .addColumn('account_enabled', 'integer', (c) => c.notNull())
    .addColumn('password_policies', 'varchar(64)')
    .addColumn('force_change_password_next_sign_in', 'integer', (c) => c.notNull())
    .addColumn('force_change_password_next_sign_in_with_mfa', 'integer', (c) => c.notNull())
    .addColumn('last_password_change_at', 'varchar(32)')
    .addColumn('user_type', 'varchar(16)', (c) => c.notNull())
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('session_version', 'integer', (c) => c.notNull())
    .addColumn('sign_in_sessions_valid_from', 'varchar(32)', (c) => c.notNull())
    .addColumn('on_premises_sync_enabled', 'integer')
    .addColumn('on_premises_immutable_id', 'varchar(256)')
    .addColumn('on_premises_distinguished_name', 'varchar(1024)')
    .addColumn('on_premises_sam_account_name', 'varchar(64)')
    .addColumn('on_premises_last_sync_at', 'varchar(32)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('deleted_at', 'varchar(32)')
    .execute();
  await db.schema
    .createIndex('users_tenant_upn')
    .unique()
    .on('users')
    .columns(['tenant_id', 'upn_key'])
    .execute();
  await db.schema
    .createIndex('users_tenant_display_name')
    .on('users')
    .columns(['tenant_id', 'display_name'])
    .execute();

  await db.schema
    .createTable('credentials')
    .addColumn('user_id', 'varchar(36)', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('password_hash', 'varchar(256)', (c) => c.notNull())
    .addColumn('set_at', 'varchar(32)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('password_history')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('password_hash', 'varchar(256)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('password_history_user')
    .on('password_history')
    .columns(['user_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('password_operations')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id'))
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('kind', 'varchar(32)', (c) => c.notNull())
    .addColumn('requested_by_user_id', 'varchar(36)')
    .addColumn('requested_by_app_id', 'varchar(36)')
    .addColumn('correlation_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('idempotency_key', 'varchar(128)')
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('step', 'varchar(32)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('deadline_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('lease_owner', 'varchar(64)')
    .addColumn('lease_expires_at', 'varchar(32)')
    .addColumn('error_code', 'integer')
    .addColumn('error_retryable', 'integer')
    .addColumn('error_detail', 'text')
    .addColumn('secret_ciphertext', 'text')
    .addColumn('force_change', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('completed_at', 'varchar(32)')
    .execute();
  await db.schema
    .createIndex('password_operations_due')
    .on('password_operations')
    .columns(['state', 'next_attempt_at'])
    .execute();
  await db.schema
    .createIndex('password_operations_user')
    .on('password_operations')
    .columns(['user_id', 'created_at'])
    .execute();
  await db.schema
    .createIndex('password_operations_idempotency')
    .unique()
    .on('password_operations')
    .columns(['user_id', 'idempotency_key'])
    .execute();
  await db.schema
    .createIndex('password_operations_correlation')
    .on('password_operations')
    .column('correlation_id')
    .execute();

  await db.schema
    .createTable('password_operation_events')
    // Dialect choice: SQLite's rowid alias versus PostgreSQL's identity column.
    .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
      dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('operation_id', 'varchar(36)', (c) =>
      c.notNull().references('password_operations.id').onDelete('cascade'),
    )
    .addColumn('at', 'varchar(32)', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('step', 'varchar(32)', (c) => c.notNull())
    .addColumn('detail', 'text')
    .execute();
  await db.schema
    .createIndex('password_operation_events_operation')
    .on('password_operation_events')
    .columns(['operation_id', 'id'])
    .execute();

  await db.schema
    .createTable('sign_ins')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(36)')
    .addColumn('user_principal_name', 'varchar(256)', (c) => c.notNull())
    .addColumn('user_display_name', 'varchar(256)')
    .addColumn('app_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('app_display_name', 'varchar(256)')
    .addColumn('client_app_used', 'varchar(64)', (c) => c.notNull())
    .addColumn('ip_address', 'varchar(64)', (c) => c.notNull())
    .addColumn('user_agent', 'varchar(512)')
    .addColumn('correlation_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('is_interactive', 'integer', (c) => c.notNull())
    .addColumn('error_code', 'integer', (c) => c.notNull())
    .addColumn('failure_reason', 'varchar(512)')
    .addColumn('additional_details', 'varchar(1024)')
    .execute();
  await db.schema
    .createIndex('sign_ins_tenant_time')
    .on('sign_ins')
    .columns(['tenant_id', 'created_at'])
    .execute();
  await db.schema.createIndex('sign_ins_correlation').on('sign_ins').column('correlation_id').execute();
  await db.schema
    .createIndex('sign_ins_user_time')
    .on('sign_ins')
    .columns(['user_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('directory_audits')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('activity_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('activity_display_name', 'varchar(256)', (c) => c.notNull())
    .addColumn('category', 'varchar(64)', (c) => c.notNull())
    .addColumn('correlation_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('logged_by_service', 'varchar(128)', (c) => c.notNull())
    .addColumn('operation_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('result', 'varchar(16)', (c) => c.notNull())
    .addColumn('result_reason', 'varchar(1024)', (c) => c.notNull())
    .addColumn('initiated_by_user_id', 'varchar(36)')
    .addColumn('initiated_by_upn', 'varchar(256)')
    .addColumn('initiated_by', 'text', (c) => c.notNull())
    .addColumn('target_resources', 'text', (c) => c.notNull())
    .addColumn('additional_details', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('directory_audits_tenant_time')
    .on('directory_audits')
    .columns(['tenant_id', 'activity_at'])
    .execute();
  await db.schema
    .createIndex('directory_audits_correlation')
    .on('directory_audits')
    .column('correlation_id')
    .execute();

  await db.schema
    .createTable('refresh_tokens')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('client_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('session_version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('revoked_at', 'varchar(32)')
    .execute();
  await db.schema.createIndex('refresh_tokens_user').on('refresh_tokens').column('user_id').execute();

  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('algorithm', 'varchar(16)', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('private_jwk_ciphertext', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('retired_at', 'varchar(32)')
    .execute();
}
