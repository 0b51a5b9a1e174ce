import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, type Json } from '../../test/support/http-helpers.js';
import {
  cliClientId,
  passwordGrant,
  startTestRekey,
  type TestRekey,
} from '../../test/support/rekey-harness.js';
import { listAuditsByCorrelation } from '../audit/audit-store.js';
import { systemContext } from '../platform/request-context.js';
import { listSignInsByCorrelation } from '../sign-ins/sign-in-store.js';

/*
 * How old tokens end: refresh-token reuse revokes the whole family (RFC 9700 rotation), and
 * what a token of a user whose password changed, or who was disabled or deleted, is answered,
 * with the `suberror` that makes MSAL ask the user to sign in again.
 */

const password = 'Orchid-River-3-Tq!';

interface Session {
  readonly access: string;
  readonly refresh: string;
}

describe.each(dialects)('ending sessions on %s', (dialect) => {
  let rekey: TestRekey;
  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
  });
  afterAll(async () => rekey?.close());

  async function signIn(upn: string, secret = password): Promise<Session> {
    const response = await rekey.tokenRequest(passwordGrant(upn, secret));
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json<{ access_token: string; refresh_token: string }>();
    return { access: body.access_token, refresh: body.refresh_token };
  }

  function refresh(token: string, correlationId?: string) {
    return rekey.tokenRequest(
      { grant_type: 'refresh_token', client_id: cliClientId, refresh_token: token },
      correlationId ? { 'client-request-id': correlationId } : {},
    );
  }

  async function refreshed(token: string): Promise<Session> {
    const response = await refresh(token);
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json<{ access_token: string; refresh_token: string }>();
    return { access: body.access_token, refresh: body.refresh_token };
  }

  const me = (access: string) =>
    rekey.app.inject({ method: 'GET', url: '/v1.0/me', headers: bearer(access) });

  /** The AADSTS code and status of a Graph call with `access`. */
  async function meAnswer(access: string) {
    const response = await me(access);
    if (response.statusCode === 200) return { status: 200, code: 0 };
    return {
      status: response.statusCode,
      code: response.json<{ error: { innerError: { aadstsCode: number } } }>().error.innerError.aadstsCode,
    };
  }

  /** The OAuth error of a refused refresh, as MSAL reads it. */
  async function refreshAnswer(token: string, correlationId?: string) {
    const response = await refresh(token, correlationId);
    const body = response.json<Json>();
    return {
      status: response.statusCode,
      error: body['error'],
      suberror: body['suberror'],
      codes: body['error_codes'],
    };
  }

  it('revokes every token of the family when a spent refresh token is replayed, and logs it', async () => {
    const user = await rekey.createUser('reuse.family', password);
    const first = await signIn(user.userPrincipalName);
    const second = await refreshed(first.refresh);
    const third = await refreshed(second.refresh);
    // Another sign-in of the same user is another family: it survives.
    const other = await signIn(user.userPrincipalName);
    for (const session of [first, second, third, other])
      expect((await meAnswer(session.access)).code).toBe(0);

    const correlation = `reuse-${dialect}`;
    expect(await refreshAnswer(first.refresh, correlation)).toEqual({
      status: 400,
      error: 'invalid_grant',
      suberror: 'bad_token',
      codes: [50173],
    });
    // The newest refresh token and every access token of the family stop working at once.
    expect(await refreshAnswer(third.refresh)).toMatchObject({ codes: [50173], suberror: 'bad_token' });
    for (const session of [first, second, third]) {
      expect(await meAnswer(session.access)).toEqual({ status: 401, code: 50133 });
    }
    expect((await meAnswer(other.access)).code).toBe(0);
    expect((await refreshed(other.refresh)).access).toBeTypeOf('string');

    const signIns = await listSignInsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlation);
    expect(signIns.map((row) => [row.user_id, row.error_code])).toEqual([[user.id, 50173]]);
    expect(signIns[0]?.additional_details).toContain('every token of its sign-in session was revoked');
    const audits = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlation);
    expect(audits.map((row) => [row.activity_display_name, row.result])).toEqual([
      ['Revoke sign-in session after refresh token reuse', 'success'],
    ]);
    expect(JSON.parse(audits[0]?.target_resources ?? '[]')[0]).toMatchObject({ id: user.id, type: 'User' });

    // A second replay is refused and logged again, but the family is revoked only once.
    const again = `reuse-again-${dialect}`;
    expect(await refreshAnswer(second.refresh, again)).toMatchObject({ codes: [50173] });
    expect(await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, again)).toEqual([]);
    const [logged] = await listSignInsByCorrelation(rekey.db.kysely, rekey.tenant.id, again);
    expect(logged?.additional_details).toContain(
      'revoked after one of its refresh tokens was presented twice',
    );
  });

  it('answers a refresh after a password change with 50173 and suberror bad_token', async () => {
    const user = await rekey.createUser('changed.refresh', password);
    const session = await signIn(user.userPrincipalName);
    const changed = await rekey.app.inject({
      method: 'POST',
      url: '/v1.0/me/changePassword',
      headers: bearer(session.access),
      payload: { currentPassword: password, newPassword: 'Velvet-Orbit-73-Kp!' },
    });
    expect(changed.statusCode, changed.body).toBe(204);
    expect(await refreshAnswer(session.refresh)).toEqual({
      status: 400,
      error: 'invalid_grant',
      suberror: 'bad_token',
      codes: [50173],
    });
    expect(await meAnswer(session.access)).toEqual({ status: 401, code: 50133 });
  });

  it('answers the tokens of a disabled user with 50057, and with 50133 / 50173 once enabled again', async () => {
    const user = await rekey.createUser('disabled.tokens', password);
    const session = await signIn(user.userPrincipalName);
    await rekey.users.updateUser(systemContext('disable-tokens'), user.id, { accountEnabled: false });
    expect(await meAnswer(session.access)).toEqual({ status: 400, code: 50057 });
    expect(await refreshAnswer(session.refresh)).toMatchObject({ error: 'invalid_grant', codes: [50057] });
    await rekey.users.updateUser(systemContext('enable-tokens'), user.id, { accountEnabled: true });
    expect(await meAnswer(session.access)).toEqual({ status: 401, code: 50133 });
    expect(await refreshAnswer(session.refresh)).toMatchObject({ codes: [50173], suberror: 'bad_token' });
  });

  it('answers the tokens of a deleted user as revoked (50133 / 50173), never as malformed', async () => {
    const user = await rekey.createUser('deleted.tokens', password);
    const session = await signIn(user.userPrincipalName);
    await rekey.users.deleteUser(systemContext('delete-tokens'), user.id);
    expect(await meAnswer(session.access)).toEqual({ status: 401, code: 50133 });
    expect(await refreshAnswer(session.refresh)).toEqual({
      status: 400,
      error: 'invalid_grant',
      suberror: 'bad_token',
      codes: [50173],
    });
    // Purged for good, the user's access token still reads as a session that ended.
    await rekey.users.purgeUser(systemContext('purge-tokens'), user.id);
    expect(await meAnswer(session.access)).toEqual({ status: 401, code: 50133 });
  });
});
