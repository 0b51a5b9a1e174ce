import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { dialects, freshDatabaseUrl } from '../../../../test/support/databases.js';
import { type Db, migrateToLatest, migrateUpTo, openDatabase } from '../database.js';

/*
 * Migrations 0014 and 0015 on a database that already holds a tenant, a federated domain with a
 * password change URL and users: the URL becomes the federation's passwordResetUri, and every
 * existing user gets the P1 licence, counted in the new subscription.
 */

describe.each(dialects)('migrations 0014 and 0015 over existing data on %s', (dialect) => {
  let db: Db | undefined;
  afterEach(async () => db?.close());

  it('moves the password change URL into a federation and licenses every existing user', async () => {
    db = openDatabase(await freshDatabaseUrl(dialect));
    await migrateUpTo(db, '0012-connector-operations');
    const at = '2026-01-02T03:04:05.678Z';
    await sql`insert into tenants (id, display_name, settings, created_at)
      values ('11111111-1111-4111-8111-111111111111', 'Contoso', '{}', ${at})`.execute(db.kysely);
    for (const [name, type, url, initial] of [
      ['contoso.example', 'Managed', null, 1],
      ['fabrikam.example', 'Federated', 'https://sts.fabrikam.example/adfs/portal/updatepassword', 0],
    ] as const) {
      await sql`insert into domains (name, tenant_id, authentication_type, is_default, is_initial, is_verified,
        password_change_url, created_at)
        values (${name}, '11111111-1111-4111-8111-111111111111', ${type}, ${initial}, ${initial}, 1, ${url}, ${at})`.execute(
        db.kysely,
      );
    }
    for (const [id, alias] of [
      ['a0000000-0000-4000-8000-000000000001', 'ana'],
      ['a0000000-0000-4000-8000-000000000002', 'ben'],
    ] as const) {
      await sql`insert into users (id, tenant_id, user_principal_name, upn_key, display_name, mail_nickname,
        account_enabled, force_change_password_next_sign_in, force_change_password_next_sign_in_with_mfa,
        user_type, roles, session_version, sign_in_sessions_valid_from, created_at, updated_at)
        values (${id}, '11111111-1111-4111-8111-111111111111', ${`${alias}@contoso.example`},
        ${`${alias}@contoso.example`}, ${alias}, ${alias}, 1, 0, 0, 'Member', '[]', 1, ${at}, ${at}, ${at})`.execute(
        db.kysely,
      );
    }

    await migrateToLatest(db);

    const federations = await db.kysely
      .selectFrom('domain_federations')
      .select([
        'domain_name',
        'display_name',
        'password_reset_uri',
        'issuer_uri',
        'preferred_authentication_protocol',
      ])
      .execute();
    expect(federations).toEqual([
      {
        domain_name: 'fabrikam.example',
        display_name: 'fabrikam.example',
        password_reset_uri: 'https://sts.fabrikam.example/adfs/portal/updatepassword',
        issuer_uri: null,
        preferred_authentication_protocol: 'wsFed',
      },
    ]);
    const skus = await db.kysely
      .selectFrom('subscribed_skus')
      .select([
        'sku_id',
        'sku_part_number',
        'capability_status',
        'enabled_units',
        'consumed_units',
        'assign_to_new_users',
      ])
      .execute();
    expect(skus).toEqual([
      {
        sku_id: '078d2b04-f1bd-4111-bbd4-b4b1b354cef4',
        sku_part_number: 'AAD_PREMIUM',
        capability_status: 'Enabled',
        enabled_units: 1_000_000,
        consumed_units: 2,
        assign_to_new_users: 1,
      },
    ]);
    const licenses = await db.kysely
      .selectFrom('user_licenses')
      .select(['sku_id', 'disabled_plans'])
      .execute();
    expect(licenses).toEqual([
      { sku_id: '078d2b04-f1bd-4111-bbd4-b4b1b354cef4', disabled_plans: '[]' },
      { sku_id: '078d2b04-f1bd-4111-bbd4-b4b1b354cef4', disabled_plans: '[]' },
    ]);
  });
});
