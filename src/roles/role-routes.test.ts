import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode, type Json } from '../../test/support/http-helpers.js';
import { adminUpn, startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { systemContext } from '../platform/request-context.js';
import { listEnabledGlobalAdministratorIds } from '../users/user-store.js';
import { directoryRoles, directoryRoleTemplates } from './directory-roles.js';

const password = 'Granite-Beacon-62-Wq!';
const base = '/v1.0/roleManagement/directory';
const globalAdministratorId = '62e90394-69f5-4237-9190-012177145e10';
const reportsReaderId = '4a5d8f65-41da-4de4-8968-e035b65339cf';
const privilegedRoleAdministratorId = 'e8611ab8-c189-46e8-94e1-60213ab1f814';
const nobodyId = '00000000-0000-4000-8000-000000000001';

/** Entra's template ids, written out here so that a typo in roles.ts fails a test. */
const entraTemplateIds: Readonly<Record<string, string>> = {
  'Global Administrator': '62e90394-69f5-4237-9190-012177145e10',
  'Privileged Role Administrator': 'e8611ab8-c189-46e8-94e1-60213ab1f814',
  'Privileged Authentication Administrator': '7be44c8a-adaf-4e2a-84d6-ab2649e08a13',
  'Authentication Administrator': 'c4e39bd9-1100-46d3-8c65-fb160da0071f',
  'Authentication Policy Administrator': '0526716b-113d-4c15-b2c8-68e3c22b9f80',
  'User Administrator': 'fe930be7-5e62-47db-91af-98c3a49a38b1',
  'Helpdesk Administrator': '729827e3-9c14-49f7-bb1b-9608f156bbb8',
  'Global Reader': 'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
  'Reports Reader': '4a5d8f65-41da-4de4-8968-e035b65339cf',
  'Security Reader': '5d6b6bb7-de71-4623-b4af-96380a352509',
  'Security Operator': '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f',
  'Security Administrator': '194ae4cb-b126-40b2-bd5b-6091b380977d',
  'Hybrid Identity Administrator': '8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2',
  'Password Administrator': '966707d0-3269-4727-9be2-8c3a10f19b9d',
  'Directory Readers': '88d8e3e3-8f55-4a1e-953a-9b9898b8876b',
  'Guest Inviter': '95e79109-95c0-4d8e-aee3-d01accf2d47b',
  'Groups Administrator': 'fdd7a751-b60b-444a-984c-02652fe8fa1c',
  'Message Center Reader': '790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b',
  'User Experience Success Manager': '27460883-1df1-4691-b032-3b79643e5e63',
  'Usage Summary Reports Reader': '75934031-6c7e-415a-99d7-48dbd49e875e',
};

interface AssignmentJson {
  id: string;
  principalId: string;
  roleDefinitionId: string;
  directoryScopeId: string;
}

interface AuditJson {
  activityDisplayName: string;
  category: string;
  loggedByService: string;
  operationType: string;
  result: string;
  resultReason: string;
  initiatedBy: { user: { userPrincipalName: string } | null; app: { displayName: string } };
  targetResources: Json[];
}

describe.each(dialects)('role management API on %s', (dialect) => {
  let rekey: TestRekey;
  let admin: string;
  let adminId: string;

  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    admin = await rekey.adminToken();
    adminId = (await rekey.users.getUser(adminUpn)).id;
  });
  afterAll(async () => rekey?.close());

  function call(
    method: 'GET' | 'POST' | 'DELETE' | 'PATCH',
    url: string,
    token: string,
    options: { payload?: Json; correlationId?: string } = {},
  ): Promise<LightMyRequestResponse> {
    return rekey.app.inject({
      method,
      url,
      headers: {
        ...bearer(token),
        ...(options.correlationId === undefined ? {} : { 'client-request-id': options.correlationId }),
      },
      ...(options.payload ? { payload: options.payload } : {}),
    });
  }

  function assign(token: string, principalId: string, roleDefinitionId: string, correlationId?: string) {
    return call('POST', `${base}/roleAssignments`, token, {
      payload: { principalId, roleDefinitionId, directoryScopeId: '/' },
      ...(correlationId === undefined ? {} : { correlationId }),
    });
  }

  async function auditsOf(correlationId: string): Promise<AuditJson[]> {
    const filter = encodeURIComponent(`correlationId eq '${correlationId}'`);
    const response = await call('GET', `/v1.0/auditLogs/directoryAudits?$filter=${filter}`, admin);
    expect(response.statusCode, response.body).toBe(200);
    return response.json<{ value: AuditJson[] }>().value;
  }

  async function rolesOf(id: string): Promise<unknown> {
    return (await call('GET', `/v1.0/users/${id}?$select=directoryRoles`, admin)).json<Json>()[
      'directoryRoles'
    ];
  }

  it('lists every role Rekey knows as Graph role definitions, to any signed-in user', async () => {
    const plain = (await rekey.createUserWithToken('defs.plain', password)).token;
    const response = await call('GET', `${base}/roleDefinitions`, plain);
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json<{ '@odata.context': string; value: Json[] }>();
    expect(body['@odata.context']).toBe(
      'http://rekey.test/v1.0/$metadata#roleManagement/directory/roleDefinitions',
    );
    expect(body.value.map((d) => d['displayName'])).toEqual([...directoryRoles].sort());
    expect(Object.fromEntries(body.value.map((d) => [d['displayName'], d['templateId']]))).toEqual(
      entraTemplateIds,
    );
    expect(body.value.find((d) => d['displayName'] === 'Reports Reader')).toEqual({
      id: reportsReaderId,
      description: directoryRoleTemplates['Reports Reader'].description,
      displayName: 'Reports Reader',
      isBuiltIn: true,
      isEnabled: true,
      templateId: reportsReaderId,
      resourceScopes: ['/'],
      version: null,
      rolePermissions: [],
    });

    const one = await call('GET', `${base}/roleDefinitions/${globalAdministratorId.toUpperCase()}`, plain);
    expect(one.statusCode, one.body).toBe(200);
    expect(one.json()).toMatchObject({
      '@odata.context': 'http://rekey.test/v1.0/$metadata#roleManagement/directory/roleDefinitions/$entity',
      id: globalAdministratorId,
      displayName: 'Global Administrator',
    });
    expectErrorCode(await call('GET', `${base}/roleDefinitions/${nobodyId}`, plain), 404, 7700008);
    expectErrorCode(await call('GET', `${base}/roleDefinitions`, 'not-a-token'), 401, 7700102);
  });

  it('filters, selects, counts and pages role definitions as admins query them', async () => {
    const filter = encodeURIComponent("displayName eq 'global administrator'");
    const byName = await call(
      'GET',
      `${base}/roleDefinitions?$filter=${filter}&$select=id,displayName`,
      admin,
    );
    expect(byName.statusCode, byName.body).toBe(200);
    expect(byName.json<{ value: Json[] }>().value).toEqual([
      { id: globalAdministratorId, displayName: 'Global Administrator' },
    ]);

    const seen: string[] = [];
    let url: string | undefined = `${base}/roleDefinitions?$top=5&$count=true`;
    let pages = 0;
    while (url) {
      const page = await call('GET', url, admin);
      expect(page.statusCode, page.body).toBe(200);
      const body = page.json<{ value: Json[]; '@odata.nextLink'?: string; '@odata.count'?: number }>();
      if (pages === 0) expect(body['@odata.count']).toBe(directoryRoles.length);
      else expect(body['@odata.count']).toBeUndefined();
      seen.push(...body.value.map((d) => String(d['displayName'])));
      url = body['@odata.nextLink']?.replace('http://rekey.test', '');
      pages++;
    }
    expect(pages).toBe(Math.ceil(directoryRoles.length / 5));
    expect(seen).toEqual([...directoryRoles].sort());

    const unsupported = await call(
      'GET',
      `${base}/roleDefinitions?$filter=${encodeURIComponent("description eq 'x'")}`,
      admin,
    );
    expectErrorCode(unsupported, 400, 7700007);
  });

  it('assigns each role the reset and sensitive-action rules name, and lists it back', async () => {
    const added = [
      'Password Administrator',
      'Directory Readers',
      'Guest Inviter',
      'Groups Administrator',
      'Message Center Reader',
      'User Experience Success Manager',
      'Usage Summary Reports Reader',
    ] as const;
    const holder = await rekey.createUser('new.roles', password);
    for (const role of added) {
      const created = await assign(admin, holder.id, entraTemplateIds[role] ?? '');
      expect(created.statusCode, created.body).toBe(201);
    }
    expect(await rolesOf(holder.id)).toEqual([...added]);
    const listed = await call(
      'GET',
      `${base}/roleAssignments?$filter=${encodeURIComponent(`principalId eq '${holder.id}'`)}`,
      admin,
    );
    expect(
      listed
        .json<{ value: AssignmentJson[] }>()
        .value.map((a) => a.roleDefinitionId)
        .sort(),
    ).toEqual(added.map((role) => entraTemplateIds[role]).sort());
  });

  it('assigns Reports Reader through the API: the same token reads the sign-in log at once, and loses it on removal', async () => {
    const rita = await rekey.createUserWithToken('rita.reports', password);
    expectErrorCode(await call('GET', '/v1.0/auditLogs/signIns', rita.token), 403, 7700103);

    const created = await assign(admin, rita.id.toUpperCase(), reportsReaderId, `assign-${dialect}`);
    expect(created.statusCode, created.body).toBe(201);
    const assignment = created.json<AssignmentJson & { '@odata.context': string }>();
    expect(assignment).toEqual({
      '@odata.context': 'http://rekey.test/v1.0/$metadata#roleManagement/directory/roleAssignments/$entity',
      id: expect.stringMatching(/^[A-Za-z0-9_-]{43}-1$/),
      principalId: rita.id,
      roleDefinitionId: reportsReaderId,
      directoryScopeId: '/',
      appScopeId: null,
      condition: null,
    });
    expect(created.headers['location']).toBe(`http://rekey.test${base}/roleAssignments/${assignment.id}`);
    expect(await rolesOf(rita.id)).toEqual(['Reports Reader']);

    // Roles are read from the database on every request: no new sign-in is needed...
    expect((await call('GET', '/v1.0/auditLogs/signIns', rita.token)).statusCode).toBe(200);
    // ...and a fresh sign-in sees the role too.
    const fresh = await rekey.signIn(rita.userPrincipalName, password);
    expect((await call('GET', '/v1.0/auditLogs/signIns', fresh)).statusCode).toBe(200);

    const read = await call('GET', `${base}/roleAssignments/${assignment.id}`, admin);
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json()).toEqual({
      '@odata.context': 'http://rekey.test/v1.0/$metadata#roleManagement/directory/roleAssignments/$entity',
      id: assignment.id,
      principalId: rita.id,
      roleDefinitionId: reportsReaderId,
      directoryScopeId: '/',
      appScopeId: null,
      condition: null,
    });

    // Ids are base64url, where case matters: $filter compares them exactly, as GET by id does.
    const byId = (id: string) =>
      call('GET', `${base}/roleAssignments?$filter=${encodeURIComponent(`id eq '${id}'`)}`, admin);
    expect((await byId(assignment.id)).json<{ value: AssignmentJson[] }>().value).toHaveLength(1);
    const swapped = [...assignment.id]
      .map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()))
      .join('');
    expect((await byId(swapped)).json<{ value: AssignmentJson[] }>().value).toEqual([]);
    expectErrorCode(await call('GET', `${base}/roleAssignments/${swapped}`, admin), 404, 7700008);

    const removed = await call('DELETE', `${base}/roleAssignments/${assignment.id}`, admin, {
      correlationId: `remove-${dialect}`,
    });
    expect(removed.statusCode, removed.body).toBe(204);
    expect(await rolesOf(rita.id)).toEqual([]);
    // The removal takes effect on the very next request of a token issued while the role was held,
    // and the sessions themselves live on: the user is still signed in, only without the role.
    expectErrorCode(await call('GET', '/v1.0/auditLogs/signIns', fresh), 403, 7700103);
    expectErrorCode(await call('GET', '/v1.0/auditLogs/signIns', rita.token), 403, 7700103);
    expect((await call('GET', '/v1.0/me', fresh)).statusCode).toBe(200);
    expectErrorCode(await call('GET', `${base}/roleAssignments/${assignment.id}`, admin), 404, 7700008);
    expectErrorCode(await call('DELETE', `${base}/roleAssignments/${assignment.id}`, admin), 404, 7700008);

    // Both changes are audited in Entra's terms, attributed to the administrator.
    const [added] = await auditsOf(`assign-${dialect}`);
    expect(added).toMatchObject({
      activityDisplayName: 'Add member to role',
      category: 'RoleManagement',
      loggedByService: 'Core Directory',
      operationType: 'Assign',
      result: 'success',
      initiatedBy: { user: { userPrincipalName: adminUpn } },
    });
    expect(added?.targetResources).toEqual([
      {
        id: rita.id,
        displayName: 'Test rita.reports',
        type: 'User',
        userPrincipalName: rita.userPrincipalName,
        modifiedProperties: [
          { displayName: 'Role.DisplayName', oldValue: null, newValue: '"Reports Reader"' },
          { displayName: 'Role.TemplateId', oldValue: null, newValue: `"${reportsReaderId}"` },
        ],
      },
    ]);
    const removals = await auditsOf(`remove-${dialect}`);
    expect(removals).toHaveLength(1);
    expect(removals[0]).toMatchObject({
      activityDisplayName: 'Remove member from role',
      category: 'RoleManagement',
      operationType: 'Unassign',
      result: 'success',
    });
    expect(removals[0]?.targetResources[0]?.['modifiedProperties']).toEqual([
      { displayName: 'Role.DisplayName', oldValue: '"Reports Reader"', newValue: null },
      { displayName: 'Role.TemplateId', oldValue: `"${reportsReaderId}"`, newValue: null },
    ]);
  });

  it('answers a second assignment of a held role with 409 naming the existing assignment', async () => {
    const sam = await rekey.createUser('sam.twice', password);
    const first = await assign(admin, sam.id, reportsReaderId);
    expect(first.statusCode, first.body).toBe(201);
    const again = await assign(admin, sam.id, reportsReaderId, `twice-${dialect}`);
    const inner = expectErrorCode(again, 409, 7700010);
    expect(inner['details']).toEqual({
      id: first.json<AssignmentJson>().id,
      principalId: sam.id,
      roleDefinitionId: reportsReaderId,
    });
    expect(await auditsOf(`twice-${dialect}`)).toEqual([]);
    expect(await rolesOf(sam.id)).toEqual(['Reports Reader']);
  });

  it('lets only a Global Administrator or Privileged Role Administrator change roles; refusals are audited', async () => {
    const target = await rekey.createUser('target.plain', password);
    const userAdmin = await rekey.createUserWithToken('ua.roles', password, {
      roles: ['User Administrator'],
    });
    const reader = await rekey.createUserWithToken('rr.roles', password, { roles: ['Reports Reader'] });

    const refused = await assign(userAdmin.token, target.id, globalAdministratorId, `refused-${dialect}`);
    const inner = expectErrorCode(refused, 403, 7700103);
    expect(inner['details']).toEqual({
      requiredRoles: ['Global Administrator', 'Privileged Role Administrator'],
    });
    expectErrorCode(await assign(reader.token, reader.id, globalAdministratorId), 403, 7700103);
    expect(await rolesOf(target.id)).toEqual([]);
    expect(await rolesOf(reader.id)).toEqual(['Reports Reader']);
    const [failure] = await auditsOf(`refused-${dialect}`);
    expect(failure).toMatchObject({
      activityDisplayName: 'Add member to role',
      category: 'RoleManagement',
      result: 'failure',
      resultReason: expect.stringMatching(/^AADSTS7700103: /),
      initiatedBy: { user: { userPrincipalName: userAdmin.userPrincipalName } },
      targetResources: [{ id: target.id, userPrincipalName: target.userPrincipalName }],
    });
    // An upper-case spelling of the id is audited under the user's own id, so the attempt shows
    // in the user's audit history; an id nobody has is refused alike and writes nothing.
    expectErrorCode(
      await assign(
        userAdmin.token,
        target.id.toUpperCase(),
        globalAdministratorId,
        `refused-upper-${dialect}`,
      ),
      403,
      7700103,
    );
    expect(await auditsOf(`refused-upper-${dialect}`)).toMatchObject([
      {
        result: 'failure',
        targetResources: [{ id: target.id, userPrincipalName: target.userPrincipalName }],
      },
    ]);
    expectErrorCode(
      await assign(userAdmin.token, nobodyId, globalAdministratorId, `refused-nobody-${dialect}`),
      403,
      7700103,
    );
    expect(await auditsOf(`refused-nobody-${dialect}`)).toEqual([]);

    // Reading assignments is for directory readers; a Reports Reader is not one.
    expectErrorCode(await call('GET', `${base}/roleAssignments`, reader.token), 403, 7700103);
    const readerAssignment = (
      await call('GET', `${base}/roleAssignments?$filter=principalId eq ${reader.id}`, admin)
    ).json<{ value: AssignmentJson[] }>().value[0];
    expect(readerAssignment?.roleDefinitionId).toBe(reportsReaderId);
    const deleteRefused = await call(
      'DELETE',
      `${base}/roleAssignments/${readerAssignment?.id}`,
      userAdmin.token,
      {
        correlationId: `refused-delete-${dialect}`,
      },
    );
    expectErrorCode(deleteRefused, 403, 7700103);
    expect(await rolesOf(reader.id)).toEqual(['Reports Reader']);
    expect(await auditsOf(`refused-delete-${dialect}`)).toMatchObject([
      { activityDisplayName: 'Remove member from role', result: 'failure' },
    ]);

    // A Privileged Role Administrator may assign any role, Global Administrator included.
    const pra = await rekey.createUser('pra.roles', password);
    expect((await assign(admin, pra.id, privilegedRoleAdministratorId)).statusCode).toBe(201);
    const praToken = await rekey.signIn(pra.userPrincipalName, password);
    const byPra = await assign(praToken, target.id, globalAdministratorId);
    expect(byPra.statusCode, byPra.body).toBe(201);
    expect(await rolesOf(target.id)).toEqual(['Global Administrator']);
    const undo = await call('DELETE', `${base}/roleAssignments/${byPra.json<AssignmentJson>().id}`, praToken);
    expect(undo.statusCode, undo.body).toBe(204);
    expect(await rolesOf(target.id)).toEqual([]);
  });

  it('never removes Global Administrator from the last enabled one', async () => {
    const adminAssignment = (
      await call(
        'GET',
        `${base}/roleAssignments?$filter=${encodeURIComponent(`principalId eq ${adminId} and roleDefinitionId eq '${globalAdministratorId}'`)}`,
        admin,
      )
    ).json<{ value: AssignmentJson[] }>().value;
    expect(adminAssignment).toHaveLength(1);
    const adminAssignmentId = adminAssignment[0]?.id ?? '';

    const refused = await call('DELETE', `${base}/roleAssignments/${adminAssignmentId}`, admin, {
      correlationId: `last-ga-${dialect}`,
    });
    expectErrorCode(refused, 400, 7700106);
    expect(await rolesOf(adminId)).toEqual(['Global Administrator']);
    expect(await auditsOf(`last-ga-${dialect}`)).toMatchObject([
      {
        activityDisplayName: 'Remove member from role',
        category: 'RoleManagement',
        result: 'failure',
        resultReason: expect.stringMatching(/^AADSTS7700106: /),
        targetResources: [{ id: adminId }],
      },
    ]);

    // A disabled Global Administrator does not count as another one.
    const gina = await rekey.createUser('gina.ga', password);
    const ginaAssignment = await assign(admin, gina.id, globalAdministratorId);
    expect(ginaAssignment.statusCode).toBe(201);
    expect(
      (await call('PATCH', `/v1.0/users/${gina.id}`, admin, { payload: { accountEnabled: false } }))
        .statusCode,
    ).toBe(204);
    expectErrorCode(
      await call('DELETE', `${base}/roleAssignments/${adminAssignmentId}`, admin),
      400,
      7700106,
    );
    expect(
      (await call('PATCH', `/v1.0/users/${gina.id}`, admin, { payload: { accountEnabled: true } }))
        .statusCode,
    ).toBe(204);

    // With another enabled one, either may lose the role.
    const removed = await call(
      'DELETE',
      `${base}/roleAssignments/${ginaAssignment.json<AssignmentJson>().id}`,
      admin,
    );
    expect(removed.statusCode, removed.body).toBe(204);
    expect(await rolesOf(gina.id)).toEqual([]);
    expect(await rolesOf(adminId)).toEqual(['Global Administrator']);
  });

  it('lists assignments with $filter on principalId and roleDefinitionId, $count and paging', async () => {
    const holders = [];
    for (const alias of ['list.one', 'list.two', 'list.three']) {
      const user = await rekey.createUser(alias, password, { roles: ['Security Reader'] });
      holders.push(user.id);
    }
    const securityReaderId = entraTemplateIds['Security Reader'] ?? '';
    const filter = encodeURIComponent(`roleDefinitionId eq '${securityReaderId}'`);
    const listed = await call('GET', `${base}/roleAssignments?$filter=${filter}&$count=true`, admin);
    expect(listed.statusCode, listed.body).toBe(200);
    const body = listed.json<{ '@odata.context': string; '@odata.count': number; value: AssignmentJson[] }>();
    expect(body['@odata.context']).toBe(
      'http://rekey.test/v1.0/$metadata#roleManagement/directory/roleAssignments',
    );
    expect(body['@odata.count']).toBe(3);
    expect(body.value.map((a) => a.principalId).sort()).toEqual([...holders].sort());
    expect(
      body.value.every((a) => a.roleDefinitionId === securityReaderId && a.directoryScopeId === '/'),
    ).toBe(true);

    const all: AssignmentJson[] = [];
    let url: string | undefined = `${base}/roleAssignments?$top=2`;
    while (url) {
      const page = await call('GET', url, admin);
      expect(page.statusCode, page.body).toBe(200);
      const pageBody = page.json<{ value: AssignmentJson[]; '@odata.nextLink'?: string }>();
      expect(pageBody.value.length).toBeLessThanOrEqual(2);
      all.push(...pageBody.value);
      url = pageBody['@odata.nextLink']?.replace('http://rekey.test', '');
    }
    expect(new Set(all.map((a) => a.id)).size).toBe(all.length);
    for (const id of holders) expect(all.some((a) => a.principalId === id)).toBe(true);
    expect(all.some((a) => a.principalId === adminId && a.roleDefinitionId === globalAdministratorId)).toBe(
      true,
    );

    // A deleted user's roles are not listed (they come back with a restore).
    const [first] = holders;
    expect((await call('DELETE', `/v1.0/users/${first}`, admin)).statusCode).toBe(204);
    const after = await call('GET', `${base}/roleAssignments?$filter=${filter}`, admin);
    expect(after.json<{ value: AssignmentJson[] }>().value.map((a) => a.principalId)).not.toContain(first);
  });

  it('refuses bad input with 4xx catalog codes', async () => {
    const ursula = await rekey.createUser('bad.input', password);
    const post = (payload: Json) => call('POST', `${base}/roleAssignments`, admin, { payload });
    const valid = { principalId: ursula.id, roleDefinitionId: reportsReaderId, directoryScopeId: '/' };

    const scoped = expectErrorCode(
      await post({ ...valid, directoryScopeId: '/administrativeUnits/x' }),
      400,
      7700001,
    );
    expect(scoped['details']).toMatchObject({ field: 'directoryScopeId', allowed: ['/'] });
    expectErrorCode(await post({ ...valid, roleDefinitionId: nobodyId }), 404, 7700008);
    expectErrorCode(await post({ ...valid, principalId: nobodyId }), 404, 7700008);
    expectErrorCode(await post({ ...valid, principalId: 'bad.input@example.com' }), 400, 7700001);
    expectErrorCode(await post({ ...valid, roleDefinitionId: 'Reports Reader' }), 400, 7700001);
    expectErrorCode(await post({ principalId: ursula.id, roleDefinitionId: reportsReaderId }), 400, 7700001);
    expectErrorCode(await post({ ...valid, appScopeId: '/' }), 400, 7700001);
    const notJson = await rekey.app.inject({
      method: 'POST',
      url: `${base}/roleAssignments`,
      headers: { ...bearer(admin), 'content-type': 'application/json' },
      payload: '{"principalId":',
    });
    expectErrorCode(notJson, 400, 7700002);

    for (const id of ['nonsense', `${'A'.repeat(43)}-1`, `${'A'.repeat(43)}-2`]) {
      expectErrorCode(await call('GET', `${base}/roleAssignments/${id}`, admin), 404, 7700008);
      expectErrorCode(await call('DELETE', `${base}/roleAssignments/${id}`, admin), 404, 7700008);
    }
    const query = (q: string) => call('GET', `${base}/roleAssignments?${q}`, admin);
    expectErrorCode(await query('$expand=principal'), 400, 7700007);
    expectErrorCode(
      await query(`$filter=${encodeURIComponent("principalId eq 'not-a-guid'")}`),
      400,
      7700007,
    );
    expectErrorCode(await query(`$filter=${encodeURIComponent("displayName eq 'x'")}`), 400, 7700007);
    expectErrorCode(await query('$top=0'), 400, 7700007);
    expectErrorCode(await query('$skiptoken=garbage'), 400, 7700007);
    expect(await rolesOf(ursula.id)).toEqual([]);
  });
  it('keeps one enabled Global Administrator when removals, disables and deletes of all of them run at once', async () => {
    // Five rounds. Each adds three Global Administrators, then takes the role from every enabled
    // one at once: the harness's admin loses the role (restored after the round, so the tests
    // that follow keep it), the others are in turn demoted, disabled or deleted. The changes run
    // as the operator (no actor, as at the CLI), so only the last-administrator rule refuses.
    const remove = { action: 'remove', role: 'Global Administrator' } as const;
    for (let round = 0; round < 5; round++) {
      for (const n of [1, 2, 3]) {
        await rekey.createUser(`race${round}.ga${n}`, password, { roles: ['Global Administrator'] });
      }
      const operator = systemContext(`race-${round}-${dialect}`);
      const before = await listEnabledGlobalAdministratorIds(rekey.db.kysely, rekey.tenant.id, {
        lock: false,
      });
      const changes = before.map((id, i) => {
        if (id === adminId || i % 3 === 0) return rekey.users.changeDirectoryRole(operator, id, remove);
        if (i % 3 === 1) return rekey.users.updateUser(operator, id, { accountEnabled: false });
        return rekey.users.deleteUser(operator, id);
      });
      const outcomes = await Promise.allSettled(changes);
      const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
      for (const outcome of refused) expect(outcome.reason).toMatchObject({ code: 7700106 });
      const left = await listEnabledGlobalAdministratorIds(rekey.db.kysely, rekey.tenant.id, { lock: false });
      expect(left, `round ${round}`).toHaveLength(1);
      expect(refused, `round ${round}`).toHaveLength(1);
      if (!left.includes(adminId)) {
        await rekey.users.changeDirectoryRole(operator, adminId, {
          action: 'add',
          role: 'Global Administrator',
        });
      }
    }
  });
});
