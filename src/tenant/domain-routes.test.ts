import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode, type Json } from '../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { toGraphDirectoryAudit } from '../audit/audit-mapper.js';
import { listAuditsByCorrelation } from '../audit/audit-store.js';
import { systemContext } from '../platform/request-context.js';

describe.each(dialects)('Graph domains API on %s', (dialect) => {
  let rekey: TestRekey;
  let admin: string;
  let plain: string;

  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    admin = await rekey.adminToken();
    plain = (await rekey.createUserWithToken('plain', 'Quiet-Harbor-7!')).token;
  });
  afterAll(async () => rekey?.close());

  function call(
    method: 'GET' | 'POST',
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

  it('lists the initial domain in Graph’s shape, to any signed-in user', async () => {
    const response = await call('GET', '/v1.0/domains', plain);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      '@odata.context': 'http://rekey.test/v1.0/$metadata#domains',
      value: [
        {
          id: 'example.com',
          authenticationType: 'Managed',
          availabilityStatus: null,
          isAdminManaged: true,
          isDefault: true,
          isInitial: true,
          isRoot: true,
          isVerified: true,
          passwordNotificationWindowInDays: 14,
          passwordValidityPeriodInDays: 2147483647,
          supportedServices: [],
          state: null,
        },
      ],
    });
  });

  it('adds a managed domain, verified at once, audited; reads it back by name in any case', async () => {
    const correlation = `add-domain-${dialect}`;
    const added = await call(
      'POST',
      '/v1.0/domains',
      admin,
      { id: 'Contoso.Example' },
      { 'client-request-id': correlation },
    );
    expect(added.statusCode, added.body).toBe(201);
    expect(added.headers['location']).toBe('http://rekey.test/v1.0/domains/contoso.example');
    expect(added.json()).toMatchObject({
      '@odata.context': 'http://rekey.test/v1.0/$metadata#domains/$entity',
      id: 'contoso.example',
      authenticationType: 'Managed',
      isDefault: false,
      isInitial: false,
      isVerified: true,
      isRoot: true,
    });
    expect(added.json()).not.toHaveProperty('passwordChangeUrl');
    const read = await call('GET', '/v1.0/domains/CONTOSO.example', plain);
    expect(read.json()).toMatchObject({ id: 'contoso.example', isVerified: true });
    const audits = (await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlation)).map(
      toGraphDirectoryAudit,
    );
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({
      activityDisplayName: 'Add verified domain to company',
      category: 'DirectoryManagement',
      result: 'success',
      targetResources: [{ id: 'contoso.example', type: 'Domain' }],
    });
    // Users can be created in it straight away.
    const user = await rekey.createUser('someone', 'Quiet-Harbor-7!', {
      userPrincipalName: 'someone@contoso.example',
    });
    expect(user.userPrincipalName).toBe('someone@contoso.example');
  });

  it("reports the password policy's maximum age as every domain's password validity", async () => {
    const context = systemContext('test-domain-validity');
    await rekey.settings.updatePasswordPolicy(context, { maximumAgeDays: 90 });
    try {
      const listed = (await call('GET', '/v1.0/domains', plain)).json<{ value: Json[] }>().value;
      expect(listed.map((domain) => domain['passwordValidityPeriodInDays'])).toEqual(listed.map(() => 90));
      const one = await call('GET', '/v1.0/domains/example.com', plain);
      expect(one.json<Json>()['passwordValidityPeriodInDays']).toBe(90);
    } finally {
      await rekey.settings.updatePasswordPolicy(context, { maximumAgeDays: null });
    }
    const never = await call('GET', '/v1.0/domains/example.com', plain);
    expect(never.json<Json>()['passwordValidityPeriodInDays']).toBe(2147483647);
  });

  it('marks a subdomain of a verified domain as not a root', async () => {
    const added = await call('POST', '/v1.0/domains', admin, { id: 'eu.contoso.example' });
    expect(added.json()).toMatchObject({ id: 'eu.contoso.example', isRoot: false, isVerified: true });
    const list = (await call('GET', '/v1.0/domains', admin)).json<{ value: Json[] }>();
    expect(list.value.map((d) => [d['id'], d['isRoot']])).toEqual([
      ['contoso.example', true],
      ['eu.contoso.example', false],
      ['example.com', true],
    ]);
  });

  it('adds a federated domain with its password change URL', async () => {
    const added = await call('POST', '/v1.0/domains', admin, {
      id: 'fabrikam.example',
      authenticationType: 'Federated',
      passwordChangeUrl: 'https://sts.fabrikam.example/adfs/portal/updatepassword',
    });
    expect(added.statusCode).toBe(201);
    expect(added.json()).toMatchObject({
      authenticationType: 'Federated',
      passwordChangeUrl: 'https://sts.fabrikam.example/adfs/portal/updatepassword',
    });
    const bare = await call('POST', '/v1.0/domains', admin, {
      id: 'bare-fed.example',
      authenticationType: 'Federated',
    });
    expect(bare.json()).toMatchObject({ authenticationType: 'Federated', passwordChangeUrl: null });
  });

  it('rejects bad input with catalog codes', async () => {
    for (const id of [
      'not a domain',
      'nodot',
      '-lead.example',
      `${'x'.repeat(64)}.example`,
      'under_score.example',
    ]) {
      expectErrorCode(await call('POST', '/v1.0/domains', admin, { id }), 400, 7700001);
    }
    expectErrorCode(
      await call('POST', '/v1.0/domains', admin, {
        id: 'managed-url.example',
        passwordChangeUrl: 'https://x.example/',
      }),
      400,
      7700001,
    );
    expectErrorCode(
      await call('POST', '/v1.0/domains', admin, {
        id: 'bad-url.example',
        authenticationType: 'Federated',
        passwordChangeUrl: 'ftp://x.example/',
      }),
      400,
      7700001,
    );
    expectErrorCode(
      await call('POST', '/v1.0/domains', admin, { id: 'x.example', authenticationType: 'Cloud' }),
      400,
      7700001,
    );
    expectErrorCode(
      await call('POST', '/v1.0/domains', admin, { id: 'x.example', isDefault: true }),
      400,
      7700001,
    );
    expectErrorCode(await call('POST', '/v1.0/domains', admin, { id: 'EXAMPLE.com' }), 409, 7700010);
    expectErrorCode(await call('GET', '/v1.0/domains/nowhere.example', admin), 404, 7700008);
  });

  it('lets only a Global Administrator add a domain', async () => {
    const { token: userAdmin } = await rekey.createUserWithToken('user.admin', 'Quiet-Harbor-7!', {
      roles: ['User Administrator'],
    });
    expectErrorCode(await call('POST', '/v1.0/domains', userAdmin, { id: 'nope.example' }), 403, 7700103);
    expectErrorCode(await call('POST', '/v1.0/domains', plain, { id: 'nope.example' }), 403, 7700103);
    const anonymous = await rekey.app.inject({ method: 'GET', url: '/v1.0/domains' });
    expectErrorCode(anonymous, 401, 7700101);
  });
});
