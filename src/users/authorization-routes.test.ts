import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { aadstsCodeOf, bearer, expectErrorCode } from '../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { listAuditsByCorrelation } from '../audit/audit-store.js';
import { passwordMethodId } from '../passwords/password-routes.js';
import { type DirectoryRole, directoryRoleTemplates } from '../roles/directory-roles.js';

/*
 * Entra's reset and sensitive-action tables through the HTTP API, on both databases: who may
 * reset, unlock, disable, delete and restore whom. Every cell is checked by authorization.test.ts;
 * these prove that the routes and services ask the tables, and that the answers reach the
 * database (a reset signs in, a refusal changes nothing and is audited).
 */

const password = 'Harbor-Signal-27!';
const planted = 'Granite-Valley-58!';

describe.each(dialects)("Entra's authorization tables over HTTP on %s", (dialect) => {
  let rekey: TestRekey;
  let admin: string;
  let serial = 0;

  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    admin = await rekey.adminToken();
  });
  afterAll(async () => rekey?.close());

  /** A new user holding `roles`, signed in. */
  async function holder(roles: DirectoryRole[], alias = 'user') {
    serial += 1;
    return rekey.createUserWithToken(`${alias}.${serial}`, password, { roles });
  }

  function reset(token: string, targetId: string, correlationId?: string) {
    return rekey.app.inject({
      method: 'POST',
      url: `/v1.0/users/${targetId}/authentication/methods/${passwordMethodId}/resetPassword`,
      payload: { newPassword: planted },
      headers: {
        ...bearer(token),
        ...(correlationId === undefined ? {} : { 'client-request-id': correlationId }),
      },
    });
  }

  function call(method: 'PATCH' | 'DELETE' | 'POST', url: string, token: string, payload?: object) {
    return rekey.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
  }

  async function operationStatus(location: string) {
    const response = await rekey.app.inject({
      method: 'GET',
      url: location.replace('http://rekey.test', ''),
      headers: bearer(admin),
    });
    return response.json<{ status: string; statusDetail: string | null }>();
  }

  /** The user can sign in with the planted password, and only after changing it, as after any reset. */
  async function expectResetTo(upn: string): Promise<void> {
    expect(await rekey.signInCode(upn, password)).toBe(50126);
    expect(await rekey.signInCode(upn, planted)).toBe(50055);
    const change = await rekey.app.inject({
      method: 'POST',
      url: '/example.com/password/change',
      payload: { userPrincipalName: upn, currentPassword: planted, newPassword: 'Lichen-Harbor-70!' },
    });
    expect(change.statusCode, change.body).toBe(204);
    expect(await rekey.signInCode(upn, 'Lichen-Harbor-70!')).toBe(0);
  }

  it.each([['Helpdesk Administrator'], ['Password Administrator']] as const)(
    "lets a %s reset a plain user's password: 202, then the user signs in with it",
    async (role) => {
      const caller = await holder([role], 'resetter');
      const target = await holder([], 'plain');
      const response = await reset(caller.token, target.id);
      expect(response.statusCode, response.body).toBe(202);
      await rekey.operations.runDueOperations();
      expect(await operationStatus(String(response.headers['location']))).toMatchObject({
        status: 'succeeded',
      });
      await expectResetTo(target.userPrincipalName);
    },
  );

  it("refuses a Password Administrator a Helpdesk Administrator's password: 403 7700103, audited, nothing changed", async () => {
    const caller = await holder(['Password Administrator'], 'pwadmin');
    const target = await holder(['Helpdesk Administrator'], 'helpdesk');
    const correlation = `pwadmin-helpdesk-${dialect}`;
    const response = await reset(caller.token, target.id, correlation);
    const inner = expectErrorCode(response, 403, 7700103);
    expect(inner['details']).toEqual({
      requiredRoles: [
        'Helpdesk Administrator',
        'User Administrator',
        'Privileged Authentication Administrator',
        'Global Administrator',
      ],
      targetRoles: ['Helpdesk Administrator'],
    });
    const audits = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlation);
    expect(audits.map((a) => [a.activity_display_name, a.result, a.initiated_by_upn])).toEqual([
      ['Reset password (by admin)', 'failure', caller.userPrincipalName],
    ]);
    expect(audits[0]?.result_reason).toContain('7700103');
    expect(await rekey.signInCode(target.userPrincipalName, password)).toBe(0);
    const operations = await rekey.db.kysely
      .selectFrom('password_operations')
      .select('id')
      .where('user_id', '=', target.id)
      .execute();
    expect(operations).toEqual([]);
  });

  it('follows the reset table for role holders: peers, lower roles and several roles at once', async () => {
    const helpdesk = await holder(['Helpdesk Administrator'], 'hd');
    const pwadmin = await holder(['Password Administrator'], 'pa');
    const cases: ReadonlyArray<readonly [string, DirectoryRole[], number]> = [
      [helpdesk.token, ['Helpdesk Administrator'], 202],
      [helpdesk.token, ['Reports Reader'], 202],
      [helpdesk.token, ['Password Administrator', 'Helpdesk Administrator'], 202],
      [helpdesk.token, ['Authentication Administrator'], 403],
      [helpdesk.token, ['Helpdesk Administrator', 'User Administrator'], 403],
      [helpdesk.token, ['Global Reader'], 403],
      [pwadmin.token, ['Password Administrator'], 202],
      [pwadmin.token, ['Directory Readers', 'Guest Inviter'], 202],
      [pwadmin.token, ['Directory Readers', 'Message Center Reader'], 403],
    ];
    for (const [token, roles, status] of cases) {
      const target = await holder(roles, 'held');
      const response = await reset(token, target.id);
      expect(response.statusCode, `${roles.join('+')}: ${response.body}`).toBe(status);
      if (status === 403) expect(aadstsCodeOf(response)).toBe(7700103);
    }
    await rekey.operations.runDueOperations();
  });

  it('judges the reset again at commit by the table: a role the requester covers passes, one it does not ends it with 7700103', async () => {
    const helpdesk = await holder(['Helpdesk Administrator'], 'commit.hd');
    const assign = (principalId: string, role: DirectoryRole) =>
      call('POST', '/v1.0/roleManagement/directory/roleAssignments', admin, {
        principalId,
        roleDefinitionId: directoryRoleTemplates[role].templateId,
        directoryScopeId: '/',
      });

    const covered = await holder([], 'commit.covered');
    const first = await reset(helpdesk.token, covered.id);
    expect(first.statusCode, first.body).toBe(202);
    expect((await assign(covered.id, 'Helpdesk Administrator')).statusCode).toBe(201);

    const beyond = await holder([], 'commit.beyond');
    const second = await reset(helpdesk.token, beyond.id);
    expect(second.statusCode, second.body).toBe(202);
    expect((await assign(beyond.id, 'User Administrator')).statusCode).toBe(201);

    await rekey.operations.runDueOperations();
    expect(await operationStatus(String(first.headers['location']))).toMatchObject({ status: 'succeeded' });
    await expectResetTo(covered.userPrincipalName);
    const refused = await operationStatus(String(second.headers['location']));
    expect(refused.status).toBe('failed');
    expect(refused.statusDetail).toContain('AADSTS7700103');
    expect(await rekey.signInCode(beyond.userPrincipalName, password)).toBe(0);
    expect(await rekey.signInCode(beyond.userPrincipalName, planted)).toBe(50126);
  });

  it('lets a Helpdesk or Password Administrator unlock whom they may reset, and no one else', async () => {
    const helpdesk = await holder(['Helpdesk Administrator'], 'unlock.hd');
    const pwadmin = await holder(['Password Administrator'], 'unlock.pa');
    const unlock = (token: string, id: string) => call('POST', `/rekey/v1/users/${id}/unlock`, token);
    const plain = await holder([], 'unlock.plain');
    expect((await unlock(helpdesk.token, plain.id)).statusCode).toBe(200);
    expect((await unlock(pwadmin.token, plain.id)).statusCode).toBe(200);
    const peer = await holder(['Helpdesk Administrator'], 'unlock.peer');
    expect((await unlock(helpdesk.token, peer.id)).statusCode).toBe(200);
    expectErrorCode(await unlock(pwadmin.token, peer.id), 403, 7700103);
  });

  it('lets an Authentication Administrator disable a plain user but not a User Administrator (sensitive-action table)', async () => {
    const authAdmin = await holder(['Authentication Administrator'], 'aa');
    const plain = await holder([], 'aa.plain');
    const disabled = await call('PATCH', `/v1.0/users/${plain.id}`, authAdmin.token, {
      accountEnabled: false,
    });
    expect(disabled.statusCode, disabled.body).toBe(204);
    expect(await rekey.signInCode(plain.userPrincipalName, password)).toBe(50057);
    expectErrorCode(
      await rekey.app.inject({ method: 'GET', url: '/v1.0/me', headers: bearer(plain.token) }),
      400,
      50057,
    );

    const userAdmin = await holder(['User Administrator'], 'aa.ua');
    const refused = await call('PATCH', `/v1.0/users/${userAdmin.id}`, authAdmin.token, {
      accountEnabled: false,
    });
    expect(expectErrorCode(refused, 403, 7700103)['details']).toMatchObject({
      targetRoles: ['User Administrator'],
    });
    expect(await rekey.signInCode(userAdmin.userPrincipalName, password)).toBe(0);

    // Another Authentication Administrator is within reach; a Helpdesk Administrator is not.
    const peer = await holder(['Authentication Administrator'], 'aa.peer');
    expect(
      (await call('PATCH', `/v1.0/users/${peer.id}`, authAdmin.token, { jobTitle: 'Peer' })).statusCode,
    ).toBe(204);
    const helpdesk = await holder(['Helpdesk Administrator'], 'aa.hd');
    expectErrorCode(await call('DELETE', `/v1.0/users/${helpdesk.id}`, authAdmin.token), 403, 7700103);
  });

  it('lets a User Administrator manage a Helpdesk Administrator but not an Authentication Administrator', async () => {
    const userAdmin = await holder(['User Administrator'], 'ua');
    const helpdesk = await holder(['Helpdesk Administrator'], 'ua.hd');
    expect(
      (await call('PATCH', `/v1.0/users/${helpdesk.id}`, userAdmin.token, { accountEnabled: false }))
        .statusCode,
    ).toBe(204);
    expect(await rekey.signInCode(helpdesk.userPrincipalName, password)).toBe(50057);
    const authAdmin = await holder(['Authentication Administrator'], 'ua.aa');
    expectErrorCode(
      await call('PATCH', `/v1.0/users/${authAdmin.id}`, userAdmin.token, { accountEnabled: false }),
      403,
      7700103,
    );
    expectErrorCode(
      await call('PATCH', `/v1.0/users/${authAdmin.id}`, userAdmin.token, {
        passwordProfile: { password: planted },
      }),
      403,
      7700103,
    );
    expect(await rekey.signInCode(authAdmin.userPrincipalName, password)).toBe(0);
  });

  it('lets an Authentication Administrator delete and restore a plain user, but keeps permanent deletion for user administrators', async () => {
    const authAdmin = await holder(['Authentication Administrator'], 'del.aa');
    const target = await holder([], 'del.plain');
    expect((await call('DELETE', `/v1.0/users/${target.id}`, authAdmin.token)).statusCode).toBe(204);
    expect(await rekey.signInCode(target.userPrincipalName, password)).not.toBe(0);
    const restored = await call('POST', `/v1.0/directory/deletedItems/${target.id}/restore`, authAdmin.token);
    expect(restored.statusCode, restored.body).toBe(200);
    expect(await rekey.signInCode(target.userPrincipalName, password)).toBe(0);
    expect((await call('DELETE', `/v1.0/users/${target.id}`, authAdmin.token)).statusCode).toBe(204);
    expectErrorCode(
      await call('DELETE', `/v1.0/directory/deletedItems/${target.id}`, authAdmin.token),
      403,
      7700103,
    );
    expect((await call('DELETE', `/v1.0/directory/deletedItems/${target.id}`, admin)).statusCode).toBe(204);
  });

  it('keeps a Password or Helpdesk Administrator away from changing users, and lets them read the directory', async () => {
    const pwadmin = await holder(['Password Administrator'], 'ro.pa');
    const reader = await holder(['Directory Readers'], 'ro.dr');
    const target = await holder([], 'ro.plain');
    for (const token of [pwadmin.token, reader.token]) {
      expectErrorCode(
        await call('PATCH', `/v1.0/users/${target.id}`, token, { jobTitle: 'x' }),
        403,
        7700103,
      );
      const read = await rekey.app.inject({
        method: 'GET',
        url: `/v1.0/users/${target.id}`,
        headers: bearer(token),
      });
      expect(read.statusCode, read.body).toBe(200);
    }
    expectErrorCode(await reset(reader.token, target.id), 403, 7700103);
  });
});
