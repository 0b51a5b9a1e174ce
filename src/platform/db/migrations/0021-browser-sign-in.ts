import type { Kysely } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * The browser sign-in (authorization-code flow with PKCE):
 *
 * - `application_redirect_uris`: the redirect URIs an administrator registered for an application,
 *   by platform (`spa`, `web`, `publicClient`, as Graph's application resource groups them). The
 *   built-in portal's own callbacks are in code (builtin-applications.ts), not rows.
 * - `sign_in_transactions`: one authorize request waiting for the user at Rekey's sign-in page:
 *   the request as validated, the hash of the browser cookie it is bound to, the hash of its CSRF
 *   token and, once the password was right but must be changed, the user and the current password
 *   sealed with the secret key (so the change step does not ask for it again).
 * - `sso_sessions`: Rekey's single sign-on session behind the `rekey_sso` cookie (only its hash is
 *   stored); it ends when the user's session version moves on (password change, revocation).
 * - `authorization_codes`: one-time codes (only the hash is stored), bound to the client, the
 *   redirect URI, the PKCE challenge and the nonce; `family_id` is the token family the code was
 *   redeemed into, revoked if the code is presented again.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('application_redirect_uris')
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id'))
    .addColumn('app_id', 'varchar(36)', (c) => c.notNull().references('applications.app_id'))
    .addColumn('platform', 'varchar(16)', (c) => c.notNull())
    .addColumn('uri', 'varchar(512)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('application_redirect_uris_pk', ['tenant_id', 'app_id', 'platform', 'uri'])
    .execute();

  await db.schema
    .createTable('sign_in_transactions')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id'))
    .addColumn('browser_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('csrf_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('request', 'text', (c) => c.notNull())
    .addColumn('user_id', 'varchar(36)', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('sealed_password', 'text')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('sign_in_transactions_expiry')
    .on('sign_in_transactions')
    .column('expires_at')
    .execute();

  await db.schema
    .createTable('sso_sessions')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id'))
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('session_version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('revoked_at', 'varchar(32)')
    .execute();
  await db.schema.createIndex('sso_sessions_user').on('sso_sessions').column('user_id').execute();

  await db.schema
    .createTable('authorization_codes')
    .addColumn('code_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id'))
    .addColumn('client_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('redirect_uri', 'varchar(512)', (c) => c.notNull())
    .addColumn('code_challenge', 'varchar(128)')
    .addColumn('nonce', 'varchar(512)')
    .addColumn('scope', 'varchar(1024)')
    .addColumn('session_version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('redeemed_at', 'varchar(32)')
    .addColumn('family_id', 'varchar(36)')
    .execute();
  await db.schema
    .createIndex('authorization_codes_expiry')
    .on('authorization_codes')
    .column('expires_at')
    .execute();
}
