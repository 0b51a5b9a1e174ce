import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import {
  adminPassword,
  adminUpn,
  cliClientId,
  passwordGrant,
  startTestRekey,
  type TestRekey,
} from '../../test/support/rekey-harness.js';
import { listSignInsByCorrelation } from '../sign-ins/sign-in-store.js';

describe.each(dialects)('token endpoint on %s', (dialect) => {
  let rekey: TestRekey;
  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
  });
  afterAll(async () => rekey?.close());

  it('issues tokens for the right password and logs a successful sign-in', async () => {
    const response = await rekey.tokenRequest(
      { ...passwordGrant(adminUpn, adminPassword), scope: 'openid' },
      { 'client-request-id': 'corr-ok-1' },
    );
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.token_type).toBe('Bearer');
    expect(body.access_token.split('.')).toHaveLength(3);
    expect(body.id_token).toBeTypeOf('string');
    expect(response.headers['client-request-id']).toBe('corr-ok-1');
    const logged = await listSignInsByCorrelation(rekey.db.kysely, rekey.tenant.id, 'corr-ok-1');
    expect(logged).toHaveLength(1);
    expect(logged[0]?.error_code).toBe(0);
    expect(logged[0]?.app_display_name).toBe('Rekey CLI');
  });

  it.each([
    ['wrong password', { username: adminUpn, password: 'Wrong-Pass-1!' }, 50126],
    ['unknown user', { username: 'ghost@example.com', password: 'Wrong-Pass-1!' }, 50034],
  ])('answers %s in the Entra error shape', async (_name, fields, code) => {
    const response = await rekey.tokenRequest(
      { grant_type: 'password', client_id: cliClientId, ...fields },
      { 'client-request-id': `corr-${code}` },
    );
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.error).toBe('invalid_grant');
    expect(body.error_codes).toEqual([code]);
    expect(body.error_description).toMatch(new RegExp(`^AADSTS${code}: `));
    expect(body.error_description).toContain(`Correlation ID: corr-${code}`);
    expect(body.correlation_id).toBe(`corr-${code}`);
    expect(body.error_uri).toBe(`http://rekey.test/error?code=${code}`);
    const logged = await listSignInsByCorrelation(rekey.db.kysely, rekey.tenant.id, `corr-${code}`);
    expect(logged.map((s) => s.error_code)).toEqual([code]);
  });

  it('refuses a disabled account with 50057 and a forced change with 50055', async () => {
    const disabled = await rekey.createUser('disabled.user', 'Quiet-Harbor-7!', { accountEnabled: false });
    const forced = await rekey.createUser('forced.user', 'Amber-Lantern-8!', {
      forceChangePasswordNextSignIn: true,
    });
    const a = await rekey.tokenRequest(passwordGrant(disabled.userPrincipalName, 'Quiet-Harbor-7!'));
    expect(a.json().error_codes).toEqual([50057]);
    const b = await rekey.tokenRequest(passwordGrant(forced.userPrincipalName, 'Amber-Lantern-8!'));
    expect(b.json().error_codes).toEqual([50055]);
  });

  it('rejects an unknown client, an unknown tenant, a missing grant and a JSON body with catalog codes', async () => {
    const client = await rekey.tokenRequest({
      ...passwordGrant(adminUpn, adminPassword),
      client_id: '00000000-0000-0000-0000-000000000001',
    });
    expect(client.json().error_codes).toEqual([700016]);
    const tenant = await rekey.tokenRequest(passwordGrant(adminUpn, adminPassword), {}, 'nowhere.example');
    expect(tenant.json().error_codes).toEqual([90002]);
    const grant = await rekey.tokenRequest({ client_id: cliClientId });
    expect(grant.json().error_codes).toEqual([900144]);
    const unsupported = await rekey.tokenRequest({
      grant_type: 'client_credentials',
      client_id: cliClientId,
    });
    expect(unsupported.json().error).toBe('unsupported_grant_type');
    const json = await rekey.app.inject({
      method: 'POST',
      url: '/example.com/oauth2/v2.0/token',
      payload: { grant_type: 'password' },
    });
    expect(json.statusCode).toBe(415);
    expect(json.json().error_codes).toEqual([7700003]);
  });

  it('answers and logs a user name longer than any account can have, without a server error', async () => {
    const long = `${'x'.repeat(2000)}@example.com`;
    const response = await rekey.tokenRequest(passwordGrant(long, 'Whatever-Guess-1!'));
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json().error_codes).toEqual([50034]);
    const [row] = await rekey.db.kysely
      .selectFrom('sign_ins')
      .select(['user_principal_name', 'error_code'])
      .where('correlation_id', '=', response.json().correlation_id)
      .execute();
    expect(row).toEqual({ user_principal_name: long.slice(0, 256), error_code: 50034 });
  });

  it.runIf(dialect === 'postgres')(
    'opens no session when its sign-in row cannot be written: the two commit together',
    async () => {
      const user = await rekey.createUser('atomic.session', 'Harbor-Quill-73-Np!');
      // A trigger that refuses this user's sign-in rows stands in for a log write that fails.
      await sql`create function refuse_sign_in() returns trigger language plpgsql as $$
        begin raise exception 'sign-in log unavailable'; end $$`.execute(rekey.db.kysely);
      await sql`create trigger refuse_sign_in before insert on sign_ins for each row
        when (new.user_principal_name = 'atomic.session@example.com') execute function refuse_sign_in()`.execute(
        rekey.db.kysely,
      );
      try {
        const response = await rekey.tokenRequest(
          passwordGrant(user.userPrincipalName, 'Harbor-Quill-73-Np!'),
        );
        expect(response.statusCode).toBe(500);
        const sessions = await rekey.db.kysely
          .selectFrom('refresh_tokens')
          .select('id')
          .where('user_id', '=', user.id)
          .execute();
        expect(sessions).toEqual([]);
      } finally {
        await sql`drop trigger refuse_sign_in on sign_ins`.execute(rekey.db.kysely);
        await sql`drop function refuse_sign_in()`.execute(rekey.db.kysely);
      }
    },
  );

  it('accepts the tenant id and organizations in the path', async () => {
    for (const segment of [rekey.tenant.id, 'organizations']) {
      const response = await rekey.tokenRequest(passwordGrant(adminUpn, adminPassword), {}, segment);
      expect(response.statusCode).toBe(200);
    }
  });

  it('rotates refresh tokens and refuses a replayed one', async () => {
    const first = (await rekey.tokenRequest(passwordGrant(adminUpn, adminPassword))).json();
    const second = await rekey.tokenRequest({
      grant_type: 'refresh_token',
      client_id: cliClientId,
      refresh_token: first.refresh_token,
    });
    expect(second.statusCode).toBe(200);
    expect(second.json().refresh_token).not.toBe(first.refresh_token);
    const replay = await rekey.tokenRequest({
      grant_type: 'refresh_token',
      client_id: cliClientId,
      refresh_token: first.refresh_token,
    });
    expect(replay.json().error_codes).toEqual([50173]);
  });

  it('publishes OIDC discovery and a JWKS that verifies its tokens', async () => {
    const discovery = (
      await rekey.app.inject({ method: 'GET', url: '/example.com/v2.0/.well-known/openid-configuration' })
    ).json();
    expect(discovery.token_endpoint).toBe('http://rekey.test/example.com/oauth2/v2.0/token');
    expect(discovery.issuer).toBe(`http://rekey.test/${rekey.tenant.id}/v2.0`);
    const jwks = (await rekey.app.inject({ method: 'GET', url: '/example.com/discovery/v2.0/keys' })).json();
    expect(jwks.keys.length).toBeGreaterThan(0);
    expect(jwks.keys[0]).not.toHaveProperty('d');
    const { createLocalJWKSet, jwtVerify } = await import('jose');
    const access = (await rekey.tokenRequest(passwordGrant(adminUpn, adminPassword))).json().access_token;
    const { payload } = await jwtVerify(access, createLocalJWKSet(jwks), { issuer: discovery.issuer });
    expect(payload['upn']).toBe(adminUpn);
  });
});
