import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode, type Json } from '../../test/support/http-helpers.js';
import { passwordGrant, startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { makeSigningCertificate } from '../../test/support/signing-certificate.js';
import { toGraphDirectoryAudit } from '../audit/audit-mapper.js';
import { listAuditsByCorrelation } from '../audit/audit-store.js';
import { assertPasswordOperationAllowed } from '../passwords/password-eligibility.js';
import { passwordMethodId } from '../passwords/password-routes.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { systemContext } from '../platform/request-context.js';

/*
 * A domain's federation through Graph's federationConfiguration API, and what it changes: the
 * domain turns Federated, and its users' passwords are the federation's, not Rekey's (120012 for a
 * change or reset, 50126 at the token endpoint), unless the user is written back to a directory.
 */

const password = 'Quiet-Harbor-7!';
const newPassword = 'Brisk-Lantern-42!';

describe.each(dialects)('domain federation on %s', (dialect) => {
  let rekey: TestRekey;
  let admin: string;
  let certificate: string;
  let otherCertificate: string;
  /** A user of fabrikam.example signed in before the domain was federated. */
  let early: { id: string; userPrincipalName: string; token: string };

  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    admin = await rekey.adminToken();
    certificate = makeSigningCertificate('sts.fabrikam.example');
    otherCertificate = makeSigningCertificate('sts2.fabrikam.example');
    expect((await call('POST', '/v1.0/domains', admin, { id: 'fabrikam.example' })).statusCode).toBe(201);
    early = await rekey.createUserWithToken('early', password, {
      userPrincipalName: 'early@fabrikam.example',
    });
  });
  afterAll(async () => rekey?.close());

  function call(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    token: string,
    payload?: Json,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    return rekey.app.inject({
      method,
      url,
      headers: { ...bearer(token), ...headers },
      ...(payload ? { payload } : {}),
    });
  }

  function federationBody(overrides: Json = {}): Json {
    return {
      '@odata.type': '#microsoft.graph.internalDomainFederation',
      displayName: 'Fabrikam AD FS',
      issuerUri: 'http://fabrikam.example/adfs/services/trust',
      metadataExchangeUri: 'https://sts.fabrikam.example/adfs/services/trust/mex',
      signingCertificate: certificate,
      passiveSignInUri: 'https://sts.fabrikam.example/adfs/ls',
      preferredAuthenticationProtocol: 'wsFed',
      activeSignInUri: 'https://sts.fabrikam.example/adfs/services/trust/2005/usernamemixed',
      signOutUri: 'https://sts.fabrikam.example/adfs/ls',
      passwordResetUri: 'https://sts.fabrikam.example/adfs/portal/updatepassword',
      promptLoginBehavior: 'nativeSupport',
      isSignedAuthenticationRequestRequired: false,
      federatedIdpMfaBehavior: 'rejectMfaByFederatedIdp',
      ...overrides,
    };
  }

  async function auditsOf(correlation: string) {
    return (await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlation)).map(
      toGraphDirectoryAudit,
    );
  }

  let federationId = '';

  it('refuses a body with every problem named in one 400, and changes nothing', async () => {
    const response = await call('POST', '/v1.0/domains/fabrikam.example/federationConfiguration', admin, {
      displayName: '',
      passiveSignInUri: 'http://sts.fabrikam.example/adfs/ls',
      signingCertificate: 'bm90IGEgY2VydGlmaWNhdGU=',
      preferredAuthenticationProtocol: 'oidc',
      federatedIdpMfaBehavior: 'sometimes',
      isSignedAuthenticationRequestRequired: 'yes',
      passwordResetUri: 'not a url',
      id: 'chosen-by-me',
      supportsMfa: true,
    });
    const inner = expectErrorCode(response, 400, 7700001);
    const fields = (inner['details'] as { fields: Array<{ field: string; problem: string }> }).fields;
    expect(fields.map((f) => f.field).sort()).toEqual(
      [
        'body/displayName',
        'body/federatedIdpMfaBehavior',
        'body/id',
        'body/isSignedAuthenticationRequestRequired',
        'body/issuerUri',
        'body/passiveSignInUri',
        'body/passwordResetUri',
        'body/preferredAuthenticationProtocol',
        'body/signingCertificate',
        'body/supportsMfa',
      ].sort(),
    );
    expect(fields.find((f) => f.field === 'body/signingCertificate')?.problem).toBe(
      'is not a valid X.509 certificate',
    );
    expect(fields.find((f) => f.field === 'body/id')?.problem).toBe('is read-only');
    expect(response.json<{ error: { message: string } }>().error.message).toContain('issuerUri is required');
    const domain = await call('GET', '/v1.0/domains/fabrikam.example', admin);
    expect(domain.json()).toMatchObject({ authenticationType: 'Managed' });
  });

  it('federates a domain: Graph’s shape, the domain turns Federated, two audit rows', async () => {
    const correlation = `federate-${dialect}`;
    const created = await call(
      'POST',
      '/v1.0/domains/Fabrikam.Example/federationConfiguration',
      admin,
      federationBody(),
      { 'client-request-id': correlation },
    );
    expect(created.statusCode, created.body).toBe(201);
    const body = created.json<Json>();
    federationId = String(body['id']);
    expect(created.headers['location']).toBe(
      `http://rekey.test/v1.0/domains/fabrikam.example/federationConfiguration/${federationId}`,
    );
    expect(body).toEqual({
      '@odata.context':
        "http://rekey.test/v1.0/$metadata#domains('fabrikam.example')/federationConfiguration/$entity",
      '@odata.type': '#microsoft.graph.internalDomainFederation',
      id: federationId,
      displayName: 'Fabrikam AD FS',
      issuerUri: 'http://fabrikam.example/adfs/services/trust',
      metadataExchangeUri: 'https://sts.fabrikam.example/adfs/services/trust/mex',
      passiveSignInUri: 'https://sts.fabrikam.example/adfs/ls',
      activeSignInUri: 'https://sts.fabrikam.example/adfs/services/trust/2005/usernamemixed',
      signOutUri: 'https://sts.fabrikam.example/adfs/ls',
      passwordResetUri: 'https://sts.fabrikam.example/adfs/portal/updatepassword',
      signingCertificate: certificate,
      nextSigningCertificate: null,
      preferredAuthenticationProtocol: 'wsFed',
      federatedIdpMfaBehavior: 'rejectMfaByFederatedIdp',
      promptLoginBehavior: 'nativeSupport',
      isSignedAuthenticationRequestRequired: false,
    });
    const domain = await call('GET', '/v1.0/domains/fabrikam.example', admin);
    expect(domain.json()).toMatchObject({
      authenticationType: 'Federated',
      passwordChangeUrl: 'https://sts.fabrikam.example/adfs/portal/updatepassword',
    });
    const audits = await auditsOf(correlation);
    expect(audits.map((a) => a.activityDisplayName).sort()).toEqual([
      'Set domain authentication',
      'Set federation settings on domain',
    ]);
    for (const audit of audits) {
      expect(audit).toMatchObject({
        category: 'DirectoryManagement',
        result: 'success',
        targetResources: [{ id: 'fabrikam.example', type: 'Domain' }],
      });
    }
    const authentication = audits.find((a) => a.activityDisplayName === 'Set domain authentication');
    expect(authentication?.targetResources[0]?.modifiedProperties).toEqual([
      { displayName: 'AuthenticationType', oldValue: '"Managed"', newValue: '"Federated"' },
    ]);
  });

  it('lists and reads it; refuses a second one, an issuer in use, the initial domain and unknown ids', async () => {
    const list = await call('GET', '/v1.0/domains/fabrikam.example/federationConfiguration', admin);
    expect(list.statusCode).toBe(200);
    expect(list.json<{ value: Json[] }>().value.map((f) => f['id'])).toEqual([federationId]);
    const one = await call(
      'GET',
      `/v1.0/domains/fabrikam.example/federationConfiguration/${federationId}`,
      admin,
    );
    expect(one.json()).toMatchObject({ id: federationId, displayName: 'Fabrikam AD FS' });
    expectErrorCode(
      await call('POST', '/v1.0/domains/fabrikam.example/federationConfiguration', admin, federationBody()),
      409,
      7701101,
    );
    expect((await call('POST', '/v1.0/domains', admin, { id: 'northwind.example' })).statusCode).toBe(201);
    expectErrorCode(
      await call('POST', '/v1.0/domains/northwind.example/federationConfiguration', admin, federationBody()),
      409,
      7701103,
    );
    expectErrorCode(
      await call(
        'POST',
        '/v1.0/domains/example.com/federationConfiguration',
        admin,
        federationBody({ issuerUri: 'urn:example:initial' }),
      ),
      400,
      7701102,
    );
    const managed = await call('GET', '/v1.0/domains/northwind.example/federationConfiguration', admin);
    expect(managed.json<{ value: Json[] }>().value).toEqual([]);
    expectErrorCode(
      await call('GET', '/v1.0/domains/fabrikam.example/federationConfiguration/not-this-one', admin),
      404,
      7700008,
    );
    expectErrorCode(
      await call('GET', '/v1.0/domains/nowhere.example/federationConfiguration', admin),
      404,
      7700008,
    );
  });

  it('changes only what a PATCH gives, audited with the properties changed', async () => {
    const correlation = `federation-patch-${dialect}`;
    const patched = await call(
      'PATCH',
      `/v1.0/domains/fabrikam.example/federationConfiguration/${federationId}`,
      admin,
      {
        passwordResetUri: 'https://sts.fabrikam.example/adfs/portal/password',
        nextSigningCertificate: otherCertificate,
      },
      { 'client-request-id': correlation },
    );
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({
      displayName: 'Fabrikam AD FS',
      passwordResetUri: 'https://sts.fabrikam.example/adfs/portal/password',
      nextSigningCertificate: otherCertificate,
    });
    const domain = await call('GET', '/v1.0/domains/fabrikam.example', admin);
    expect(domain.json()).toMatchObject({
      passwordChangeUrl: 'https://sts.fabrikam.example/adfs/portal/password',
    });
    const [audit] = await auditsOf(correlation);
    expect(audit?.activityDisplayName).toBe('Set federation settings on domain');
    expect(audit?.targetResources[0]?.modifiedProperties?.map((p) => p.displayName)).toEqual([
      'passwordResetUri',
      'nextSigningCertificate',
    ]);
    const refused = await call(
      'PATCH',
      `/v1.0/domains/fabrikam.example/federationConfiguration/${federationId}`,
      admin,
      { issuerUri: null, signOutUri: 'ftp://x.example/' },
    );
    const inner = expectErrorCode(refused, 400, 7700001);
    expect((inner['details'] as { fields: Array<{ field: string }> }).fields.map((f) => f.field)).toEqual([
      'body/issuerUri',
      'body/signOutUri',
    ]);
  });

  it('lets the roles Entra names read and change federation, and no one else', async () => {
    const { token: hybrid } = await rekey.createUserWithToken('hybrid.admin', password, {
      roles: ['Hybrid Identity Administrator'],
    });
    const { token: reader } = await rekey.createUserWithToken('global.reader', password, {
      roles: ['Global Reader'],
    });
    const { token: userAdmin } = await rekey.createUserWithToken('user.admin', password, {
      roles: ['User Administrator'],
    });
    const url = '/v1.0/domains/fabrikam.example/federationConfiguration';
    expect((await call('GET', url, hybrid)).statusCode).toBe(200);
    expect((await call('GET', url, reader)).statusCode).toBe(200);
    expectErrorCode(await call('GET', url, userAdmin), 403, 7700103);
    expectErrorCode(
      await call('PATCH', `${url}/${federationId}`, reader, { displayName: 'x' }),
      403,
      7700103,
    );
    const renamed = await call('PATCH', `${url}/${federationId}`, hybrid, { displayName: 'Fabrikam STS' });
    expect(renamed.json()).toMatchObject({ displayName: 'Fabrikam STS' });
  });

  it('refuses a federated user’s own change, admin reset and expired change with 120012 and the password page', async () => {
    const page = 'https://sts.fabrikam.example/adfs/portal/password';
    const correlation = `federated-change-${dialect}`;
    const change = await call(
      'POST',
      '/v1.0/me/changePassword',
      early.token,
      { currentPassword: password, newPassword },
      { 'client-request-id': correlation },
    );
    const inner = expectErrorCode(change, 400, 120012);
    expect(change.json<{ error: { message: string } }>().error.message).toContain(page);
    expect(inner['details']).toMatchObject({ domain: 'fabrikam.example', passwordResetUri: page });
    const [audit] = await auditsOf(correlation);
    expect(audit).toMatchObject({
      activityDisplayName: 'Change password (self-service)',
      result: 'failure',
      targetResources: [{ id: early.id }],
    });
    expect(audit?.resultReason).toContain('120012');

    const reset = await call(
      'POST',
      `/v1.0/users/${early.id}/authentication/methods/${passwordMethodId}/resetPassword`,
      admin,
      { newPassword },
      { 'client-request-id': `federated-reset-${dialect}` },
    );
    expectErrorCode(reset, 400, 120012);
    const [resetAudit] = await auditsOf(`federated-reset-${dialect}`);
    expect(resetAudit).toMatchObject({ activityDisplayName: 'Reset password (by admin)', result: 'failure' });
    expectErrorCode(
      await call('PATCH', `/v1.0/users/${early.id}`, admin, { passwordProfile: { password: newPassword } }),
      400,
      120012,
    );
    // The expired change answers by the domain: the same for a user who exists and one who does not.
    for (const upn of ['early@fabrikam.example', 'nobody@fabrikam.example']) {
      const expired = await rekey.app.inject({
        method: 'POST',
        url: '/example.com/password/change',
        payload: { userPrincipalName: upn, currentPassword: password, newPassword },
      });
      expect(expired.json<{ error: { message: string } }>().error.message).toContain(page);
      expectErrorCode(expired, 400, 120012);
    }
  });

  it('refuses a self-service reset of a federated user with 120012 as well', async () => {
    const row = await rekey.users.getUser(early.id);
    const refusal = await assertPasswordOperationAllowed(
      rekey.db.kysely,
      rekey.tenant.id,
      row,
      'selfServiceReset',
    ).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RekeyError);
    expect((refusal as RekeyError).code).toBe(120012);
  });

  it('ends an accepted reset whose user’s domain was federated before a worker ran it, with 120012 as cause', async () => {
    const waiting = await rekey.createUser('waiting', password, {
      userPrincipalName: 'waiting@northwind.example',
    });
    const accepted = await call(
      'POST',
      `/v1.0/users/${waiting.id}/authentication/methods/${passwordMethodId}/resetPassword`,
      admin,
      { newPassword },
    );
    expect(accepted.statusCode, accepted.body).toBe(202);
    const federated = await call(
      'POST',
      '/v1.0/domains/northwind.example/federationConfiguration',
      admin,
      federationBody({
        issuerUri: 'http://northwind.example/adfs/services/trust',
        signingCertificate: otherCertificate,
      }),
    );
    expect(federated.statusCode, federated.body).toBe(201);
    expect(await rekey.operations.runDueOperations()).toBeGreaterThanOrEqual(1);
    const location = String(accepted.headers['location']).replace('http://rekey.test', '');
    const operation = (await call('GET', location, admin)).json<Json>();
    expect(operation['status']).toBe('failed');
    expect(String(operation['statusDetail'])).toContain('120012');
    const id = String(federated.json<Json>()['id']);
    expect(
      (await call('DELETE', `/v1.0/domains/northwind.example/federationConfiguration/${id}`, admin))
        .statusCode,
    ).toBe(204);
  });

  it('answers a password sign-in in a federated domain with 50126 and the federation’s sign-in page', async () => {
    for (const upn of ['early@fabrikam.example', 'nobody@fabrikam.example']) {
      const response = await rekey.tokenRequest(passwordGrant(upn, password), {
        'client-request-id': `federated-signin-${upn.split('@')[0]}-${dialect}`,
      });
      expect(response.statusCode).toBe(400);
      const body = response.json<{ error: string; error_codes: number[]; error_description: string }>();
      expect(body.error).toBe('invalid_grant');
      expect(body.error_codes).toEqual([50126]);
      expect(body.error_description).toContain('https://sts.fabrikam.example/adfs/ls');
    }
    const log = await call(
      'GET',
      `/v1.0/auditLogs/signIns?$filter=${encodeURIComponent(`correlationId eq 'federated-signin-early-${dialect}'`)}`,
      admin,
    );
    const [row] = log.json<{ value: Json[] }>().value;
    expect(row).toMatchObject({ userPrincipalName: 'early@fabrikam.example', status: { errorCode: 50126 } });
    expect(JSON.stringify(row)).toContain('is federated with Fabrikam STS');
  });

  it('lets a user written back to a directory change through the federation’s domain', async () => {
    const connector = async (displayName: string, writeback: boolean) => {
      const created = await call('POST', '/rekey/v1/connectors', admin, {
        displayName,
        flavor: 'openldap',
        url: 'ldaps://ldap.fabrikam.example',
        bindDn: 'cn=rekey,ou=services,dc=fabrikam,dc=example',
        bindPassword: 'Service-Account-Pass-1!',
        baseDn: 'ou=people,dc=fabrikam,dc=example',
        writeback,
      });
      expect(created.statusCode, created.body).toBe(201);
      return String(created.json<Json>()['id']);
    };
    const synced = async (alias: string, connectorId: string) => {
      const result = await rekey.users.applySyncedUser(systemContext(`sync-${alias}`), {
        connectorId,
        immutableId: `${alias}-immutable`,
        distinguishedName: `uid=${alias},ou=people,dc=fabrikam,dc=example`,
        userPrincipalName: `${alias}@fabrikam.example`,
        displayName: alias,
        givenName: null,
        surname: null,
        mail: null,
        mailNickname: alias,
        samAccountName: alias,
        accountEnabled: true,
      });
      if (result.outcome === 'failed') throw new Error(result.reason);
      return result.userId;
    };
    const writtenBack = await synced('written', await connector('Fabrikam writeback', true));
    const readOnly = await synced('readonly', await connector('Fabrikam read only', false));
    const resetOf = (id: string) =>
      call('POST', `/v1.0/users/${id}/authentication/methods/${passwordMethodId}/resetPassword`, admin, {
        newPassword,
      });
    expect((await resetOf(writtenBack)).statusCode).toBe(202);
    expectErrorCode(await resetOf(readOnly), 400, 120012);
  });

  it('makes the domain managed again on DELETE, and its users’ passwords are Rekey’s again', async () => {
    const correlation = `unfederate-${dialect}`;
    const deleted = await call(
      'DELETE',
      `/v1.0/domains/fabrikam.example/federationConfiguration/${federationId}`,
      admin,
      undefined,
      { 'client-request-id': correlation },
    );
    expect(deleted.statusCode).toBe(204);
    const domain = await call('GET', '/v1.0/domains/fabrikam.example', admin);
    expect(domain.json()).toMatchObject({ authenticationType: 'Managed' });
    expect(domain.json()).not.toHaveProperty('passwordChangeUrl');
    const [audit] = await auditsOf(correlation);
    expect(audit?.targetResources[0]?.modifiedProperties).toEqual([
      { displayName: 'AuthenticationType', oldValue: '"Federated"', newValue: '"Managed"' },
    ]);
    expect(await rekey.signInCode('early@fabrikam.example', password)).toBe(0);
    const token = await rekey.signIn('early@fabrikam.example', password);
    const change = await call('POST', '/v1.0/me/changePassword', token, {
      currentPassword: password,
      newPassword,
    });
    expect(change.statusCode, change.body).toBe(204);
    expect(await rekey.signInCode('early@fabrikam.example', newPassword)).toBe(0);
    expectErrorCode(
      await call('DELETE', `/v1.0/domains/fabrikam.example/federationConfiguration/${federationId}`, admin),
      404,
      7700008,
    );
  });

  it('keeps the password change URL of a domain added as federated as its federation’s password page', async () => {
    const added = await call('POST', '/v1.0/domains', admin, {
      id: 'contoso-fed.example',
      authenticationType: 'Federated',
      passwordChangeUrl: 'https://sts.contoso-fed.example/adfs/portal/updatepassword',
    });
    expect(added.json()).toMatchObject({
      authenticationType: 'Federated',
      passwordChangeUrl: 'https://sts.contoso-fed.example/adfs/portal/updatepassword',
    });
    const [federation] = (
      await call('GET', '/v1.0/domains/contoso-fed.example/federationConfiguration', admin)
    ).json<{ value: Json[] }>().value;
    expect(federation).toMatchObject({
      displayName: 'contoso-fed.example',
      passwordResetUri: 'https://sts.contoso-fed.example/adfs/portal/updatepassword',
      issuerUri: null,
      passiveSignInUri: null,
    });
  });
});
