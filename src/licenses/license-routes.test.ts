import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode, type Json } from '../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { toGraphDirectoryAudit } from '../audit/audit-mapper.js';
import { listAuditsByCorrelation } from '../audit/audit-store.js';
import { assertPasswordOperationAllowed } from '../passwords/password-eligibility.js';
import { passwordMethodId } from '../passwords/password-routes.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { systemContext } from '../platform/request-context.js';

/*
 * Subscriptions and licences through the API, on both databases, and the rules they decide:
 * changing one's own password needs no licence; a self-service reset and any change written back
 * to a directory need a licence that includes them, refused with 7701006 / 7701007 and an audit row.
 */

const p1 = '078d2b04-f1bd-4111-bbd4-b4b1b354cef4';
const p2 = '84a661c4-e949-4bd2-a560-ed7766fcaf2b';
const aadPremiumPlan = '41781fb2-bc02-4b7c-bd55-b576c07bb09d';
const mfaPlan = '8a256a2b-b617-496d-b51b-e76466e88db0';
const password = 'Quiet-Harbor-7!';
const newPassword = 'Brisk-Lantern-42!';

describe.each(dialects)('licences on %s', (dialect) => {
  let rekey: TestRekey;
  let admin: string;

  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    admin = await rekey.adminToken();
  });
  afterAll(async () => rekey?.close());

  function call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
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

  async function skus(): Promise<Json[]> {
    const response = await call('GET', '/v1.0/subscribedSkus', admin);
    expect(response.statusCode, response.body).toBe(200);
    return response.json<{ value: Json[] }>().value;
  }

  async function licensesOf(id: string): Promise<Json> {
    const response = await call('GET', `/v1.0/users/${id}?$select=assignedLicenses,assignedPlans`, admin);
    expect(response.statusCode, response.body).toBe(200);
    return response.json<Json>();
  }

  function assign(id: string, body: Json, correlation?: string) {
    return call(
      'POST',
      `/v1.0/users/${id}/assignLicense`,
      admin,
      body,
      correlation ? { 'client-request-id': correlation } : {},
    );
  }

  async function auditsOf(correlation: string) {
    return (await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlation)).map(
      toGraphDirectoryAudit,
    );
  }

  it('starts every tenant with P1, given to every user, in Graph’s subscribedSku shape', async () => {
    const user = await rekey.createUser('first', password);
    const [sku, ...others] = await skus();
    expect(others).toEqual([]);
    expect(sku).toEqual({
      id: `${rekey.tenant.id}_${p1}`,
      accountId: rekey.tenant.id,
      appliesTo: 'User',
      capabilityStatus: 'Enabled',
      consumedUnits: 2,
      prepaidUnits: { enabled: 1_000_000, lockedOut: 0, suspended: 0, warning: 0 },
      servicePlans: [
        {
          servicePlanId: aadPremiumPlan,
          servicePlanName: 'AAD_PREMIUM',
          provisioningStatus: 'Success',
          appliesTo: 'User',
        },
        {
          servicePlanId: mfaPlan,
          servicePlanName: 'MFA_PREMIUM',
          provisioningStatus: 'Success',
          appliesTo: 'User',
        },
      ],
      skuId: p1,
      skuPartNumber: 'AAD_PREMIUM',
      assignToNewUsers: true,
    });
    const selected = await licensesOf(user.id);
    expect(selected['assignedLicenses']).toEqual([{ disabledPlans: [], skuId: p1 }]);
    expect(selected['assignedPlans']).toEqual([
      expect.objectContaining({
        capabilityStatus: 'Enabled',
        service: 'AADPremiumService',
        servicePlanId: aadPremiumPlan,
      }),
      expect.objectContaining({
        capabilityStatus: 'Enabled',
        service: 'MultiFactorService',
        servicePlanId: mfaPlan,
      }),
    ]);
    // Not in Graph's default property set.
    const plain = await call('GET', `/v1.0/users/${user.id}`, admin);
    expect(plain.json()).not.toHaveProperty('assignedLicenses');
    const one = await call('GET', '/v1.0/subscribedSkus/AAD_PREMIUM', admin);
    expect(one.json()).toMatchObject({ skuId: p1, consumedUnits: 2 });
  });

  it('adds and changes a subscription through Rekey’s own API, audited, every problem named', async () => {
    const correlation = `subscribe-p2-${dialect}`;
    const added = await call(
      'PUT',
      '/rekey/v1/subscribedSkus/AAD_PREMIUM_P2',
      admin,
      { prepaidUnits: { enabled: 1 } },
      { 'client-request-id': correlation },
    );
    expect(added.statusCode, added.body).toBe(200);
    expect(added.json()).toMatchObject({
      skuId: p2,
      skuPartNumber: 'AAD_PREMIUM_P2',
      consumedUnits: 0,
      prepaidUnits: { enabled: 1 },
      assignToNewUsers: false,
    });
    const [audit] = await auditsOf(correlation);
    expect(audit).toMatchObject({
      activityDisplayName: 'Update subscription',
      result: 'success',
      targetResources: [{ id: p2, displayName: 'AAD_PREMIUM_P2' }],
    });
    expect((await skus()).map((sku) => sku['skuPartNumber'])).toEqual(['AAD_PREMIUM', 'AAD_PREMIUM_P2']);
    const unknown = expectErrorCode(
      await call('PUT', '/rekey/v1/subscribedSkus/ENTERPRISEPACK', admin, { prepaidUnits: { enabled: 5 } }),
      400,
      7700001,
    );
    expect(JSON.stringify(unknown['details'])).toContain('AAD_PREMIUM_P2');
    const tooFew = await call('PUT', `/rekey/v1/subscribedSkus/${p1}`, admin, {
      prepaidUnits: { enabled: 1 },
    });
    expectErrorCode(tooFew, 400, 7700001);
    expect(tooFew.json<{ error: { message: string } }>().error.message).toContain('at least');
    const { token: userAdmin } = await rekey.createUserWithToken('sub.useradmin', password, {
      roles: ['User Administrator'],
    });
    expectErrorCode(
      await call('PUT', '/rekey/v1/subscribedSkus/AAD_PREMIUM_P2', userAdmin, {
        prepaidUnits: { enabled: 9 },
      }),
      403,
      7700103,
    );
  });

  it('assigns and removes licences with Graph’s assignLicense, units counted, audited', async () => {
    const a = await rekey.createUser('lic.a', password);
    const b = await rekey.createUser('lic.b', password);
    const correlation = `assign-p2-${dialect}`;
    const assigned = await assign(
      a.id,
      { addLicenses: [{ skuId: p2, disabledPlans: [mfaPlan] }], removeLicenses: [p1] },
      correlation,
    );
    expect(assigned.statusCode, assigned.body).toBe(200);
    expect(assigned.json()).toMatchObject({ id: a.id, userPrincipalName: 'lic.a@example.com' });
    expect((await licensesOf(a.id))['assignedLicenses']).toEqual([{ disabledPlans: [mfaPlan], skuId: p2 }]);
    const [audit] = await auditsOf(correlation);
    expect(audit).toMatchObject({
      activityDisplayName: 'Change user license',
      category: 'UserManagement',
      result: 'success',
      targetResources: [{ id: a.id }],
    });
    const units = Object.fromEntries(
      (await skus()).map((sku) => [sku['skuPartNumber'], sku['consumedUnits']]),
    );
    expect(units['AAD_PREMIUM_P2']).toBe(1);

    // The last unit is taken: the next assignment is refused, with its audit row.
    const refusedCorrelation = `assign-none-left-${dialect}`;
    const none = expectErrorCode(
      await assign(b.id, { addLicenses: [{ skuId: p2 }], removeLicenses: [] }, refusedCorrelation),
      400,
      7701002,
    );
    expect(none['details']).toMatchObject({ enabledUnits: 1, consumedUnits: 1 });
    const [refusal] = await auditsOf(refusedCorrelation);
    expect(refusal).toMatchObject({ activityDisplayName: 'Change user license', result: 'failure' });
    expect(refusal?.resultReason).toContain('7701002');
    expect((await licensesOf(b.id))['assignedLicenses']).toEqual([{ disabledPlans: [], skuId: p1 }]);

    expectErrorCode(
      await assign(b.id, {
        addLicenses: [{ skuId: '6fd2c87f-b296-42f0-b197-1e91e994b900' }],
        removeLicenses: [],
      }),
      400,
      7701001,
    );
    expectErrorCode(
      await assign(b.id, {
        addLicenses: [{ skuId: p1, disabledPlans: ['eec0eb4f-6444-4f95-aba0-50c24d67f998'] }],
        removeLicenses: [],
      }),
      400,
      7701004,
    );
    expectErrorCode(await assign(b.id, { addLicenses: [], removeLicenses: [p2] }), 400, 7701005);
    expectErrorCode(await assign(b.id, { addLicenses: [{ skuId: p1 }], removeLicenses: [p1] }), 400, 7700001);
    expectErrorCode(
      await assign(b.id, { addLicenses: [{ skuId: 'not-a-guid' }], removeLicenses: [] }),
      400,
      7700001,
    );

    // Removing gives the unit back; a suspended subscription assigns nothing.
    expect((await assign(a.id, { addLicenses: [], removeLicenses: [p2] })).statusCode).toBe(200);
    expect(
      Object.fromEntries((await skus()).map((s) => [s['skuPartNumber'], s['consumedUnits']]))[
        'AAD_PREMIUM_P2'
      ],
    ).toBe(0);
    await call('PUT', '/rekey/v1/subscribedSkus/AAD_PREMIUM_P2', admin, { capabilityStatus: 'Suspended' });
    expectErrorCode(await assign(b.id, { addLicenses: [{ skuId: p2 }], removeLicenses: [] }), 400, 7701003);
    await call('PUT', '/rekey/v1/subscribedSkus/AAD_PREMIUM_P2', admin, { capabilityStatus: 'Enabled' });
    expect((await assign(b.id, { addLicenses: [{ skuId: p2 }], removeLicenses: [] })).statusCode).toBe(200);

    const { token: plain } = await rekey.createUserWithToken('lic.plain', password);
    expectErrorCode(
      await call('POST', `/v1.0/users/${b.id}/assignLicense`, plain, {
        addLicenses: [],
        removeLicenses: [p2],
      }),
      403,
      7700103,
    );
  });

  it('creates users unlicensed once the subscription for new users has no unit left or is turned off', async () => {
    await call('PUT', `/rekey/v1/subscribedSkus/${p1}`, admin, { assignToNewUsers: false });
    const unlicensed = await rekey.createUser('no.licence', password);
    expect((await licensesOf(unlicensed.id))['assignedLicenses']).toEqual([]);
    const [p1Sku] = await skus();
    const consumed = Number(p1Sku?.['consumedUnits']);
    await call('PUT', `/rekey/v1/subscribedSkus/${p1}`, admin, {
      assignToNewUsers: true,
      prepaidUnits: { enabled: consumed },
    });
    const full = await rekey.createUser('full.house', password);
    expect((await licensesOf(full.id))['assignedLicenses']).toEqual([]);
    // Purging a licensed user gives its unit back.
    const leaving = await skus();
    expect(leaving[0]?.['consumedUnits']).toBe(consumed);
    const someone = (await rekey.users.getUser('first@example.com')).id;
    await rekey.users.deleteUser(systemContext('purge-setup'), someone);
    await rekey.users.purgeUser(systemContext('purge-licensed'), someone);
    expect((await skus())[0]?.['consumedUnits']).toBe(consumed - 1);
    await call('PUT', `/rekey/v1/subscribedSkus/${p1}`, admin, { prepaidUnits: { enabled: 1_000_000 } });
  });

  it('needs no licence to change one’s own cloud password, nor for an administrator’s reset of a cloud user', async () => {
    const user = await rekey.createUserWithToken('cloud.unlicensed', password);
    expect((await assign(user.id, { addLicenses: [], removeLicenses: [p1] })).statusCode).toBe(200);
    const change = await call('POST', '/v1.0/me/changePassword', user.token, {
      currentPassword: password,
      newPassword,
    });
    expect(change.statusCode, change.body).toBe(204);
    expect(await rekey.signInCode(user.userPrincipalName, newPassword)).toBe(0);
    expect(await rekey.signInCode(user.userPrincipalName, password)).not.toBe(0);
    const reset = await call(
      'POST',
      `/v1.0/users/${user.id}/authentication/methods/${passwordMethodId}/resetPassword`,
      admin,
      { newPassword: 'Other-Lantern-43!' },
    );
    expect(reset.statusCode, reset.body).toBe(202);
  });

  it('refuses a self-service reset without a licence that includes it', async () => {
    const user = await rekey.createUser('sspr.user', password);
    const row = await rekey.users.getUser(user.id);
    // Licensed (P1): allowed.
    await assertPasswordOperationAllowed(rekey.db.kysely, rekey.tenant.id, row, 'selfServiceReset');
    // P1 with its AAD_PREMIUM plan turned off: not allowed, and the refusal says why.
    expect(
      (
        await assign(user.id, {
          addLicenses: [{ skuId: p1, disabledPlans: [aadPremiumPlan] }],
          removeLicenses: [],
        })
      ).statusCode,
    ).toBe(200);
    const refusal = await assertPasswordOperationAllowed(
      rekey.db.kysely,
      rekey.tenant.id,
      row,
      'selfServiceReset',
    ).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RekeyError);
    expect((refusal as RekeyError).code).toBe(7701006);
    expect((refusal as RekeyError).message).toContain('AAD_PREMIUM');
    // Changing one's own password still needs none.
    await assertPasswordOperationAllowed(rekey.db.kysely, rekey.tenant.id, row, 'selfChange');
  });

  it('refuses a reset written back to a directory without a writeback licence, with an audit row', async () => {
    const created = await call('POST', '/rekey/v1/connectors', admin, {
      displayName: 'Licensing writeback',
      flavor: 'openldap',
      url: 'ldaps://ldap.example.com',
      bindDn: 'cn=rekey,ou=services,dc=example,dc=com',
      bindPassword: 'Service-Account-Pass-1!',
      baseDn: 'ou=people,dc=example,dc=com',
      writeback: true,
    });
    expect(created.statusCode, created.body).toBe(201);
    const result = await rekey.users.applySyncedUser(systemContext('sync-licensing'), {
      connectorId: String(created.json<Json>()['id']),
      immutableId: 'writeback-immutable',
      distinguishedName: 'uid=wb,ou=people,dc=example,dc=com',
      userPrincipalName: 'wb@example.com',
      displayName: 'Written back',
      givenName: null,
      surname: null,
      mail: null,
      mailNickname: 'wb',
      samAccountName: 'wb',
      accountEnabled: true,
    });
    if (result.outcome === 'failed') throw new Error(result.reason);
    const id = result.userId;
    // Synced users get the licences for new users too.
    expect((await licensesOf(id))['assignedLicenses']).toEqual([{ disabledPlans: [], skuId: p1 }]);
    const reset = (correlation: string) =>
      call(
        'POST',
        `/v1.0/users/${id}/authentication/methods/${passwordMethodId}/resetPassword`,
        admin,
        { newPassword },
        { 'client-request-id': correlation },
      );
    expect((await assign(id, { addLicenses: [], removeLicenses: [p1] })).statusCode).toBe(200);
    const correlation = `writeback-unlicensed-${dialect}`;
    const inner = expectErrorCode(await reset(correlation), 403, 7701007);
    expect(inner['details']).toMatchObject({ capability: 'passwordWriteback', assignedLicenses: [] });
    const [audit] = await auditsOf(correlation);
    expect(audit).toMatchObject({ activityDisplayName: 'Reset password (by admin)', result: 'failure' });
    expect(audit?.resultReason).toContain('7701007');
    // A licence whose subscription is suspended allows nothing either.
    await call('PUT', '/rekey/v1/subscribedSkus/AAD_PREMIUM_P2', admin, { prepaidUnits: { enabled: 10 } });
    expect((await assign(id, { addLicenses: [{ skuId: p2 }], removeLicenses: [] })).statusCode).toBe(200);
    await call('PUT', '/rekey/v1/subscribedSkus/AAD_PREMIUM_P2', admin, { capabilityStatus: 'Suspended' });
    expectErrorCode(await reset(`writeback-suspended-${dialect}`), 403, 7701007);
    expect((await licensesOf(id))['assignedPlans']).toEqual(
      expect.arrayContaining([expect.objectContaining({ capabilityStatus: 'Suspended' })]),
    );
    await call('PUT', '/rekey/v1/subscribedSkus/AAD_PREMIUM_P2', admin, { capabilityStatus: 'Enabled' });
    expect((await reset(`writeback-licensed-${dialect}`)).statusCode).toBe(202);
  });
});
