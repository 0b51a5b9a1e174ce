import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * Federated domains: one federation configuration per domain (Graph's `internalDomainFederation`),
 * in `domain_federations`. A domain is `Federated` exactly while it has one; `domains`'s
 * authentication type is kept beside it in the same transaction for the readers that only need it.
 *
 * A federated domain used to carry only a password change URL (`domains.password_change_url`). It
 * becomes the federation's `passwordResetUri`: each federated domain gets a configuration holding
 * that URL (its other settings null until an administrator sets them), and the column goes, so the
 * federation's password page has one home.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('domain_federations')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(36)', (c) => c.notNull().references('tenants.id'))
    .addColumn('domain_name', 'varchar(253)', (c) => c.notNull().unique().references('domains.name'))
    .addColumn('display_name', 'varchar(256)', (c) => c.notNull())
    .addColumn('issuer_uri', 'varchar(2048)')
    .addColumn('metadata_exchange_uri', 'varchar(2048)')
    .addColumn('passive_sign_in_uri', 'varchar(2048)')
    .addColumn('active_sign_in_uri', 'varchar(2048)')
    .addColumn('sign_out_uri', 'varchar(2048)')
    .addColumn('password_reset_uri', 'varchar(2048)')
    .addColumn('signing_certificate', 'text')
    .addColumn('next_signing_certificate', 'text')
    .addColumn('preferred_authentication_protocol', 'varchar(16)', (c) => c.notNull())
    .addColumn('federated_idp_mfa_behavior', 'varchar(64)')
    .addColumn('prompt_login_behavior', 'varchar(64)')
    .addColumn('is_signed_authentication_request_required', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();

  const federated = await sql<{
    name: string;
    tenant_id: string;
    password_change_url: string | null;
    created_at: string;
  }>`select name, tenant_id, password_change_url, created_at from domains where authentication_type = 'Federated'`.execute(
    db,
  );
  for (const domain of federated.rows) {
    await sql`insert into domain_federations (id, tenant_id, domain_name, display_name, password_reset_uri,
      preferred_authentication_protocol, is_signed_authentication_request_required, created_at, updated_at)
      values (${randomUUID()}, ${domain.tenant_id}, ${domain.name}, ${domain.name}, ${domain.password_change_url},
      'wsFed', 0, ${domain.created_at}, ${domain.created_at})`.execute(db);
  }
  await db.schema.alterTable('domains').dropColumn('password_change_url').execute();
}
