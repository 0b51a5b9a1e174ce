import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { tokenRequestOptions } from '../../test/support/http-helpers.js';
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

  // An unknown user is answered as a wrong password by default (signInErrorDisclosure: uniform);
  // the log keeps the true reason. Entra's 50034 answer is tested in sign-in-disclosure.test.ts.
  it.each([
    ['wrong password', { username: adminUpn, password: 'Wrong-Pass-1!' }, 50126, 50126],
    ['unknown user', { username: 'ghost@example.com', password: 'Wrong-Pass-1!' }, 50126, 50034],
  ])('answers %s in the Entra error shape', async (_name, fields, code, loggedCode) => {
    const correlation = `corr-${loggedCode}`;
    const response = await rekey.tokenRequest(
      { grant_type: 'password', client_id: cliClientId, ...fields },
      { 'client-request-id': correlation },
    );
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.error).toBe('invalid_grant');
    expect(body.error_codes).toEqual([code]);
    expect(body.error_description).toMatch(new RegExp(`^AADSTS${code}: `));
    expect(body.error_description).toContain(`Correlation ID: ${correlation}`);
    expect(body.correlation_id).toBe(correlation);
    expect(body.error_uri).toBe(`http://rekey.test/error?code=${code}`);
    const logged = await listSignInsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlation);
    expect(logged.map((s) => s.error_code)).toEqual([loggedCode]);
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
    // Answered as a wrong password (the uniform default); logged as what it is.
    expect(response.json().error_codes).toEqual([50126]);
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

  it('serves discovery at the v2.0 path and the path without it, for the tenant id and a domain', async () => {
    for (const segment of [rekey.tenant.id, 'example.com', 'organizations']) {
      for (const path of ['/v2.0/.well-known/openid-configuration', '/.well-known/openid-configuration']) {
        const response = await rekey.app.inject({ method: 'GET', url: `/${segment}${path}` });
        expect(response.statusCode, `${segment}${path}`).toBe(200);
        const discovery = response.json();
        expect(discovery.issuer).toBe(`http://rekey.test/${rekey.tenant.id}/v2.0`);
        expect(discovery.token_endpoint).toBe(`http://rekey.test/${segment}/oauth2/v2.0/token`);
        expect(discovery.jwks_uri).toBe(`http://rekey.test/${segment}/discovery/v2.0/keys`);
        expect(discovery.authorization_endpoint).toBe(`http://rekey.test/${segment}/oauth2/v2.0/authorize`);
        expect(discovery.end_session_endpoint).toBe(`http://rekey.test/${segment}/oauth2/v2.0/logout`);
        expect(discovery.response_types_supported).toEqual(['code']);
        expect(discovery.code_challenge_methods_supported).toEqual(['S256']);
        expect(discovery.grant_types_supported).toEqual(['authorization_code', 'refresh_token', 'password']);
      }
    }
  });

  it.each([
    '/..%2f../v2.0/.well-known/openid-configuration',
    '/..%2f../.well-known/openid-configuration',
    '/nowhere.example/v2.0/.well-known/openid-configuration',
    '/%3Cscript%3E/.well-known/openid-configuration',
    '/00000000-0000-0000-0000-000000000000/v2.0/.well-known/openid-configuration',
  ])('answers discovery for an unknown tenant segment %s with 90002 in the OAuth shape', async (url) => {
    const response = await rekey.app.inject({
      method: 'GET',
      url,
      headers: { 'client-request-id': 'corr-discovery-90002' },
    });
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.error).toBe('invalid_request');
    expect(body.error_codes).toEqual([90002]);
    expect(body.correlation_id).toBe('corr-discovery-90002');
    expect(body).not.toHaveProperty('token_endpoint');
    expect(response.body).not.toContain('/oauth2/');
  });

  describe('client-request-id from the header, the query or the form', () => {
    const signInWith = (
      id: { header?: string; query?: string; form?: string },
      fields: Record<string, string> = passwordGrant(adminUpn, adminPassword),
    ) => {
      const options = tokenRequestOptions(
        { ...fields, ...(id.form ? { 'client-request-id': id.form } : {}) },
        id.header ? { 'client-request-id': id.header } : {},
      );
      const query = id.query ? `?client-request-id=${encodeURIComponent(id.query)}` : '';
      return rekey.app.inject({ ...options, url: `${options.url}${query}` });
    };
    const loggedCodes = async (id: string) =>
      (await listSignInsByCorrelation(rekey.db.kysely, rekey.tenant.id, id)).map((s) => s.error_code);

    it.each([
      ['the query', { query: `q-${dialect}-1` }, `q-${dialect}-1`],
      ['the form', { form: `f-${dialect}-1` }, `f-${dialect}-1`],
      [
        'the header before the query and the form',
        { header: `h-${dialect}-2`, query: 'q-x', form: 'f-x' },
        `h-${dialect}-2`,
      ],
      ['the query before the form', { query: `q-${dialect}-3`, form: 'f-y' }, `q-${dialect}-3`],
    ])('takes it from %s, echoes it and writes it on the sign-in row', async (_name, id, expected) => {
      const response = await signInWith(id);
      expect(response.statusCode).toBe(200);
      expect(response.headers['client-request-id']).toBe(expected);
      expect(await loggedCodes(expected)).toEqual([0]);
    });

    it('puts a form-field ID into a refusal and its sign-in row', async () => {
      const id = `f-${dialect}-50126`;
      const response = await signInWith({ form: id }, passwordGrant(adminUpn, 'Wrong-Pass-1!'));
      expect(response.statusCode).toBe(400);
      expect(response.headers['client-request-id']).toBe(id);
      expect(response.json().correlation_id).toBe(id);
      expect(response.json().error_description).toContain(`Correlation ID: ${id}`);
      expect(await loggedCodes(id)).toEqual([50126]);
    });

    it('ignores a form-field ID that is not a plain identifier', async () => {
      const response = await signInWith({ form: 'bad id\nforged line' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['client-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  it('returns client_info (uid and utid, base64url JSON) only when asked, on both grants', async () => {
    const plain = (await rekey.tokenRequest(passwordGrant(adminUpn, adminPassword))).json();
    expect(plain).not.toHaveProperty('client_info');
    const asked = await rekey.tokenRequest({ ...passwordGrant(adminUpn, adminPassword), client_info: '1' });
    expect(asked.statusCode).toBe(200);
    const { decodeJwt } = await import('jose');
    const oid = decodeJwt(asked.json().access_token)['oid'];
    const decode = (value: string) => JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    expect(asked.json().client_info).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decode(asked.json().client_info)).toEqual({ uid: oid, utid: rekey.tenant.id });
    const refreshed = await rekey.tokenRequest({
      grant_type: 'refresh_token',
      client_id: cliClientId,
      refresh_token: asked.json().refresh_token,
      client_info: '1',
    });
    expect(refreshed.statusCode).toBe(200);
    expect(decode(refreshed.json().client_info)).toEqual({ uid: oid, utid: rekey.tenant.id });
    const refreshedPlain = await rekey.tokenRequest({
      grant_type: 'refresh_token',
      client_id: cliClientId,
      refresh_token: refreshed.json().refresh_token,
    });
    expect(refreshedPlain.json()).not.toHaveProperty('client_info');
  });

  it('answers a scope that contains the Graph scopes asked for, and no scope it does not grant', async () => {
    const graphDefault = 'https://graph.microsoft.com/.default';
    const asked = await rekey.tokenRequest({
      ...passwordGrant(adminUpn, adminPassword),
      scope: `${graphDefault} openid profile offline_access`,
    });
    expect(asked.statusCode).toBe(200);
    const scopes = asked.json().scope.split(' ');
    expect(scopes).toContain(graphDefault);
    expect(scopes).toEqual(
      expect.arrayContaining(['openid', 'profile', 'offline_access', 'User.ReadWrite.All']),
    );
    expect(new Set(scopes).size).toBe(scopes.length);
    expect(asked.json().id_token).toBeTypeOf('string');
    const refreshed = await rekey.tokenRequest({
      grant_type: 'refresh_token',
      client_id: cliClientId,
      refresh_token: asked.json().refresh_token,
      scope: `${graphDefault} offline_access`,
    });
    expect(refreshed.json().scope.split(' ')).toContain(graphDefault);
    expect(refreshed.json()).not.toHaveProperty('id_token');

    const qualified = await rekey.tokenRequest({
      ...passwordGrant(adminUpn, adminPassword),
      scope:
        'https://graph.microsoft.com/User.ReadWrite.All https://graph.microsoft.com/Mail.Send https://other.example/.default',
    });
    const answered = qualified.json().scope.split(' ');
    expect(answered).toContain('https://graph.microsoft.com/User.ReadWrite.All');
    expect(answered).not.toContain('https://graph.microsoft.com/Mail.Send');
    expect(answered).not.toContain('https://other.example/.default');
    expect(qualified.json()).not.toHaveProperty('id_token');
  });
});
