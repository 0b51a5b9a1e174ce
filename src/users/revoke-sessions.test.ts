import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode } from '../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { Codes } from '../platform/errors/catalog.js';

// `POST /v1.0/users/{id}/revokeSignInSessions`: the portal's "Revoke sessions".

describe.each(dialects)('revoking a user sessions on %s', (dialect) => {
  let rekey: TestRekey;
  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
  });
  afterAll(async () => rekey?.close());

  const revoke = (token: string, id: string) =>
    rekey.app.inject({
      method: 'POST',
      url: `/v1.0/users/${id}/revokeSignInSessions`,
      headers: bearer(token),
    });

  it('ends the tokens issued before, answers Graph true, and leaves an audit row', async () => {
    const cara = await rekey.createUserWithToken('cara', 'Copper-Meadow-41-Xq!');
    expect(
      (await rekey.app.inject({ method: 'GET', url: '/v1.0/me', headers: bearer(cara.token) })).statusCode,
    ).toBe(200);
    // Issued-at times are whole seconds: the revocation must come after the token's second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const response = await revoke(await rekey.adminToken(), cara.id);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      '@odata.context': 'http://rekey.test/v1.0/$metadata#Edm.Boolean',
      value: true,
    });
    expect(
      (await rekey.app.inject({ method: 'GET', url: '/v1.0/me', headers: bearer(cara.token) })).statusCode,
    ).toBe(401);
    const fresh = await rekey.signIn(cara.userPrincipalName, 'Copper-Meadow-41-Xq!');
    expect(
      (await rekey.app.inject({ method: 'GET', url: '/v1.0/me', headers: bearer(fresh) })).statusCode,
    ).toBe(200);
    const audits = await rekey.app.inject({
      method: 'GET',
      url: `/v1.0/auditLogs/directoryAudits?$filter=${encodeURIComponent("activityDisplayName eq 'Revoke sign-in sessions'")}`,
      headers: bearer(await rekey.adminToken()),
    });
    expect(
      audits.json<{ value: { targetResources: { id: string }[] }[] }>().value[0]?.targetResources[0]?.id,
    ).toBe(cara.id);
  });

  it('refuses a caller without an administrator role', async () => {
    const dan = await rekey.createUserWithToken('dan', 'Violet-Summit-52-Rk!');
    const eve = await rekey.createUser('eve', 'Violet-Summit-52-Rk!');
    expectErrorCode(await revoke(dan.token, eve.id), 403, Codes.InsufficientPrivileges);
  });

  it('answers 404 for a user that does not exist', async () => {
    expectErrorCode(
      await revoke(await rekey.adminToken(), '00000000-0000-4000-8000-000000000000'),
      404,
      Codes.ResourceNotFound,
    );
  });
});
