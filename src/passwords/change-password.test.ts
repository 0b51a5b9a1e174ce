import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countingHasher } from '../../test/support/counting-hasher.js';
import { dialects } from '../../test/support/databases.js';
import { aadstsCodeOf, bearer, signInCodeOf } from '../../test/support/http-helpers.js';
import {
  cliClientId,
  passwordGrant,
  startTestRekey,
  type TestRekey,
} from '../../test/support/rekey-harness.js';
import { listAuditsByCorrelation } from '../audit/audit-store.js';
import { createPasswordCheck, createStoredHashVerifier } from '../auth/password-check.js';
import { listOperationEvents } from '../operations/operation-store.js';
import { createOperationWorker } from '../operations/operation-worker.js';
import { systemClock } from '../platform/clock.js';
import type { RekeyError } from '../platform/errors/rekey-error.js';
import { createLogger } from '../platform/log.js';
import { systemContext } from '../platform/request-context.js';
import { createPasswordService } from './password-service.js';

describe.each(dialects)('password change on %s', (dialect) => {
  let rekey: TestRekey;
  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
  });
  afterAll(async () => rekey?.close());

  /** The password grant; returns the status and the Entra error code (0 for success). */
  async function trySignIn(upn: string, password: string): Promise<{ status: number; code: number }> {
    const response = await rekey.tokenRequest(passwordGrant(upn, password));
    return { status: response.statusCode, code: signInCodeOf(response) };
  }

  const changeOwn = (token: string, body: object, correlationId: string) =>
    rekey.app.inject({
      method: 'POST',
      url: '/v1.0/me/changePassword',
      payload: body,
      headers: { ...bearer(token), 'client-request-id': correlationId },
    });

  const changeExpired = (body: object, correlationId = 'expired-change', tenant = 'example.com') =>
    rekey.app.inject({
      method: 'POST',
      url: `/${tenant}/password/change`,
      payload: body,
      headers: { 'client-request-id': correlationId },
    });

  async function userState(id: string) {
    return rekey.db.kysely
      .selectFrom('users')
      .select(['session_version', 'last_password_change_at', 'force_change_password_next_sign_in'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
  }

  async function historyCount(id: string): Promise<number> {
    const rows = await rekey.db.kysely
      .selectFrom('password_history')
      .select('id')
      .where('user_id', '=', id)
      .execute();
    return rows.length;
  }

  async function operationsOf(userId: string) {
    return rekey.db.kysely
      .selectFrom('password_operations')
      .select(['id', 'kind', 'state', 'correlation_id', 'completed_at', 'secret_ciphertext', 'attempts'])
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .execute();
  }

  it('changes the password: 204, operation history, audit, old tokens refused, new password signs in', async () => {
    const user = await rekey.createUserWithToken('pat.change', 'Willow-Brook-31!');
    const refresh = await rekey.tokenRequest(passwordGrant(user.userPrincipalName, 'Willow-Brook-31!'));
    const refreshToken = refresh.json<{ refresh_token: string }>().refresh_token;
    const before = await userState(user.id);
    const historyBefore = await historyCount(user.id);

    const correlation = `self-change-${dialect}`;
    const response = await changeOwn(
      user.token,
      { currentPassword: 'Willow-Brook-31!', newPassword: 'Cobalt-Meadow-62!' },
      correlation,
    );
    expect(response.statusCode, response.body).toBe(204);
    expect(response.body).toBe('');
    expect(response.headers['client-request-id']).toBe(correlation);

    // The operation: accepted and completed inline, its history kept, its secret gone.
    const [operation] = await operationsOf(user.id);
    expect(operation).toMatchObject({
      kind: 'selfChange',
      state: 'succeeded',
      correlation_id: correlation,
      secret_ciphertext: null,
      attempts: 1,
    });
    if (!operation) throw new Error('no operation');
    const events = await listOperationEvents(rekey.db.kysely, operation.id);
    expect(events.map((e) => e.state)).toEqual(['notStarted', 'running', 'succeeded']);

    // The user: new change time, one more history entry, sessions bumped once.
    const after = await userState(user.id);
    expect(after.session_version).toBe(before.session_version + 1);
    expect(after.last_password_change_at).toBe(operation.completed_at);
    expect(after.last_password_change_at).not.toBe(before.last_password_change_at);
    expect(await historyCount(user.id)).toBe(historyBefore + 1);

    // The audit row, found by the request's correlation ID.
    const audits = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlation);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({
      activity_display_name: 'Change password (self-service)',
      result: 'success',
      initiated_by_user_id: user.id,
      logged_by_service: 'Self-service Password Management',
    });
    expect(JSON.parse(audits[0]?.target_resources ?? '[]')[0]).toMatchObject({ id: user.id, type: 'User' });

    // Tokens issued before the change are refused with 50133; refresh tokens with 50173.
    const stale = await rekey.app.inject({
      method: 'GET',
      url: `/v1.0/users/${user.id}/authentication/operations/${operation.id}`,
      headers: bearer(user.token),
    });
    expect(stale.statusCode).toBe(401);
    expect(aadstsCodeOf(stale)).toBe(50133);
    const staleRefresh = await rekey.tokenRequest({
      grant_type: 'refresh_token',
      client_id: cliClientId,
      refresh_token: refreshToken,
    });
    expect(staleRefresh.json<{ error_codes: number[] }>().error_codes).toEqual([50173]);

    // The new password signs in; the old one fails with 50126.
    expect(await trySignIn(user.userPrincipalName, 'Cobalt-Meadow-62!')).toEqual({ status: 200, code: 0 });
    expect(await trySignIn(user.userPrincipalName, 'Willow-Brook-31!')).toEqual({ status: 400, code: 50126 });

    // Graph shows the change time, and the user can read their own operation.
    const fresh = await rekey.signIn(user.userPrincipalName, 'Cobalt-Meadow-62!');
    const me = await rekey.app.inject({
      method: 'GET',
      url: '/v1.0/me?$select=lastPasswordChangeDateTime',
      headers: bearer(fresh),
    });
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json().lastPasswordChangeDateTime).toBe(operation.completed_at);
    const status = await rekey.app.inject({
      method: 'GET',
      url: `/v1.0/users/${user.id}/authentication/operations/${operation.id}`,
      headers: bearer(fresh),
    });
    expect(status.statusCode).toBe(200);
    expect(status.json()).toEqual({
      '@odata.context': 'http://rekey.test/v1.0/$metadata#microsoft.graph.longRunningOperation',
      id: operation.id,
      createdDateTime: expect.any(String),
      lastActionDateTime: operation.completed_at,
      resourceLocation: `http://rekey.test/v1.0/users/${user.id}`,
      status: 'succeeded',
      statusDetail: null,
    });
  });

  it('refuses a wrong current password with 120000, audits the failure and changes nothing', async () => {
    const user = await rekey.createUserWithToken('wrong.current', 'Juniper-Stone-44!');
    const before = await userState(user.id);
    const correlation = `wrong-current-${dialect}`;
    const response = await changeOwn(
      user.token,
      { currentPassword: 'Juniper-Stone-45!', newPassword: 'Cobalt-Meadow-62!' },
      correlation,
    );
    expect(response.statusCode).toBe(400);
    expect(aadstsCodeOf(response)).toBe(120000);
    expect(response.json().error.code).toBe('Request_BadRequest');
    const audits = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlation);
    expect(audits.map((a) => [a.activity_display_name, a.result, a.result_reason.slice(0, 13)])).toEqual([
      ['Change password (self-service)', 'failure', 'AADSTS120000:'],
    ]);
    expect(await operationsOf(user.id)).toEqual([]);
    expect(await userState(user.id)).toEqual(before);
    expect(await trySignIn(user.userPrincipalName, 'Juniper-Stone-44!')).toEqual({ status: 200, code: 0 });
    expect(await trySignIn(user.userPrincipalName, 'Cobalt-Meadow-62!')).toEqual({
      status: 400,
      code: 50126,
    });
  });

  it.each([
    ['too short', 'pv.short', 'Ab1!xyz', 120002, ['length']],
    ['of too few categories', 'pv.categories', 'lowercaseonlyletters', 120002, ['characterCategories']],
    ['the current password', 'pv.same', 'Saffron-Ridge-19!', 120002, ['history']],
    ['containing the UPN local part', 'pv.upnpart', 'Xpv.upnpart-Zq7!m', 120003, ['containsUserName']],
    ['containing the surname', 'pv.surname', 'Hello-Valeworth-7', 120003, ['containsUserName']],
    ['too short and too simple', 'pv.both', 'vale1', 120002, ['length', 'characterCategories']],
  ])('refuses a new password %s, audited, nothing changed', async (name, alias, newValue, code, rules) => {
    const user = await rekey.createUserWithToken(alias, 'Saffron-Ridge-19!', {
      displayName: 'Policy Valeworth',
      givenName: 'Policy',
      surname: 'Valeworth',
    });
    const correlation = `policy-${dialect}-${name.replace(/\W+/g, '-')}`;
    const response = await changeOwn(
      user.token,
      { currentPassword: 'Saffron-Ridge-19!', newPassword: newValue },
      correlation,
    );
    expect(response.statusCode).toBe(400);
    expect(aadstsCodeOf(response)).toBe(code);
    const failures = response.json().error.innerError.details.failures as Array<{ rule: string }>;
    for (const rule of rules) expect(failures.map((f) => f.rule)).toContain(rule);
    expect(response.body).not.toContain(newValue);
    const audits = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlation);
    expect(audits.map((a) => [a.result, a.result_reason.slice(0, 13)])).toEqual([
      ['failure', `AADSTS${code}:`],
    ]);
    expect(await operationsOf(user.id)).toEqual([]);
    expect(await trySignIn(user.userPrincipalName, 'Saffron-Ridge-19!')).toEqual({ status: 200, code: 0 });
  });

  it('lets a user who must change their password do it at /{tenant}/password/change, then sign in', async () => {
    const user = await rekey.createUser('forced.change', 'Amber-Lantern-8!', {
      forceChangePasswordNextSignIn: true,
    });
    expect(await trySignIn(user.userPrincipalName, 'Amber-Lantern-8!')).toEqual({ status: 400, code: 50055 });
    const correlation = `expired-${dialect}`;
    const response = await changeExpired(
      {
        userPrincipalName: user.userPrincipalName.toUpperCase(),
        currentPassword: 'Amber-Lantern-8!',
        newPassword: 'Tidal-Compass-93!',
      },
      correlation,
    );
    expect(response.statusCode, response.body).toBe(204);
    const [operation] = await operationsOf(user.id);
    expect(operation).toMatchObject({
      kind: 'expiredChange',
      state: 'succeeded',
      correlation_id: correlation,
    });
    expect((await userState(user.id)).force_change_password_next_sign_in).toBe(0);
    const audits = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlation);
    expect(audits.map((a) => [a.activity_display_name, a.result])).toEqual([
      ['Change password (self-service)', 'success'],
    ]);
    expect(await trySignIn(user.userPrincipalName, 'Tidal-Compass-93!')).toEqual({ status: 200, code: 0 });
    expect(await trySignIn(user.userPrincipalName, 'Amber-Lantern-8!')).toEqual({ status: 400, code: 50126 });
  });

  it('answers /{tenant}/password/change with the same 120000 for a wrong password and an unknown user', async () => {
    const user = await rekey.createUser('expired.wrong', 'Amber-Lantern-8!', {
      forceChangePasswordNextSignIn: true,
    });
    const wrong = await changeExpired({
      userPrincipalName: user.userPrincipalName,
      currentPassword: 'Amber-Lantern-9!',
      newPassword: 'Tidal-Compass-93!',
    });
    const unknown = await changeExpired({
      userPrincipalName: 'nobody.here@example.com',
      currentPassword: 'Amber-Lantern-9!',
      newPassword: 'Tidal-Compass-93!',
    });
    for (const response of [wrong, unknown]) {
      expect(response.statusCode).toBe(400);
      expect(aadstsCodeOf(response)).toBe(120000);
    }
    expect(wrong.json().error.message).toBe(unknown.json().error.message);
    const policy = await changeExpired({
      userPrincipalName: user.userPrincipalName,
      currentPassword: 'Amber-Lantern-8!',
      newPassword: 'short',
    });
    expect(aadstsCodeOf(policy)).toBe(120002);
    const tenant = await changeExpired(
      {
        userPrincipalName: user.userPrincipalName,
        currentPassword: 'Amber-Lantern-8!',
        newPassword: 'Tidal-Compass-93!',
      },
      'expired-tenant',
      'elsewhere.example',
    );
    expect(tenant.statusCode).toBe(400);
    expect(aadstsCodeOf(tenant)).toBe(90002);
    const missing = await changeExpired({ userPrincipalName: user.userPrincipalName, currentPassword: 'x' });
    expect(missing.statusCode).toBe(400);
    expect(aadstsCodeOf(missing)).toBe(7700001);
    // Nothing changed: still forced, still the old password.
    expect(await trySignIn(user.userPrincipalName, 'Amber-Lantern-8!')).toEqual({ status: 400, code: 50055 });
  });

  it('spends one password verification on an unknown user and on one without a password, as on a known one', async () => {
    const counting = countingHasher();
    const { verified } = counting;
    // The same services as the server's, but verifying through the counting hasher.
    const service = createPasswordService({
      db: rekey.db,
      tenantId: rekey.tenant.id,
      clock: systemClock,
      operations: rekey.operations,
      checkPassword: createPasswordCheck({
        verifier: createStoredHashVerifier(counting),
        lockout: rekey.lockout,
      }),
      passwordPolicy: rekey.passwordPolicy,
      signInErrorDisclosure: async () => (await rekey.settings.getSignIn()).signInErrorDisclosure,
    });
    const user = await rekey.createUser('timing.known', 'Amber-Lantern-8!');
    const passwordless = await rekey.createUser('timing.nopassword', 'Amber-Lantern-8!');
    await rekey.db.kysely.deleteFrom('credentials').where('user_id', '=', passwordless.id).execute();
    for (const userPrincipalName of [
      user.userPrincipalName,
      'timing.unknown@example.com',
      passwordless.userPrincipalName,
    ]) {
      verified.length = 0;
      const error = await service
        .changeExpiredPassword(systemContext('timing'), {
          userPrincipalName,
          currentPassword: 'Amber-Lantern-9!',
          newPassword: 'Tidal-Compass-93!',
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect((error as RekeyError).code).toBe(120000);
      expect(verified).toEqual(['$argon2id']);
    }
  });

  it('refuses the expired-password change for a disabled account with 50057', async () => {
    const user = await rekey.createUser('expired.disabled', 'Amber-Lantern-8!', {
      forceChangePasswordNextSignIn: true,
      accountEnabled: false,
    });
    const response = await changeExpired({
      userPrincipalName: user.userPrincipalName,
      currentPassword: 'Amber-Lantern-8!',
      newPassword: 'Tidal-Compass-93!',
    });
    expect(response.statusCode).toBe(400);
    expect(aadstsCodeOf(response)).toBe(50057);
    expect(await operationsOf(user.id)).toEqual([]);
  });

  it('succeeds even when a busy background worker claims the new operation first', async () => {
    // A second worker polling without pause, so it often claims an operation before the request does.
    const worker = createOperationWorker(rekey.operations, createLogger('silent'), { pollMs: 0 });
    worker.start();
    try {
      let current = 'Willow-Brook-31!';
      const user = await rekey.createUser('busy.worker', current);
      for (let i = 0; i < 8; i += 1) {
        const next = `Cobalt-Meadow-${70 + i}!`;
        const token = await rekey.signIn(user.userPrincipalName, current);
        const response = await changeOwn(token, { currentPassword: current, newPassword: next }, `busy-${i}`);
        expect(response.statusCode, response.body).toBe(204);
        current = next;
      }
      expect(await trySignIn(user.userPrincipalName, current)).toEqual({ status: 200, code: 0 });
      const states = (await operationsOf(user.id)).map((o) => o.state);
      expect(states).toEqual(Array(8).fill('succeeded'));
    } finally {
      await worker.stop();
    }
  });
});
