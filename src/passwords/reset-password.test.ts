import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { aadstsCodeOf, bearer } from '../../test/support/http-helpers.js';
import { adminUpn, cliClientId, startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { listAuditsByCorrelation } from '../audit/audit-store.js';
import { listOperationEvents } from '../operations/operation-store.js';
import { systemContext } from '../platform/request-context.js';
import type { DirectoryRole } from '../roles/directory-roles.js';
import { passwordMethodId } from './password-routes.js';

const guid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

describe.each(dialects)('admin password reset on %s', (dialect) => {
  let rekey: TestRekey;
  let admin: string;
  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    admin = await rekey.adminToken();
  });
  afterAll(async () => rekey?.close());

  const reset = (
    token: string,
    target: string,
    body: object | undefined,
    headers: Record<string, string> = {},
  ) =>
    rekey.app.inject({
      method: 'POST',
      url: `/v1.0/users/${target}/authentication/methods/${passwordMethodId}/resetPassword`,
      ...(body === undefined ? {} : { payload: body }),
      headers: { ...bearer(token), ...headers },
    });

  const getOperation = (token: string, location: string) =>
    rekey.app.inject({
      method: 'GET',
      url: location.replace('http://rekey.test', ''),
      headers: bearer(token),
    });

  it('accepts a reset with 202 and Location; the operation goes notStarted -> succeeded and forces a change', async () => {
    const user = await rekey.createUserWithToken('reset.target', 'Willow-Brook-31!');
    const correlation = `reset-${dialect}`;
    const response = await reset(
      admin,
      user.id,
      { newPassword: 'Granite-Valley-58!' },
      { 'client-request-id': correlation },
    );
    expect(response.statusCode, response.body).toBe(202);
    expect(response.json()).toEqual({});
    const location = String(response.headers['location']);
    expect(location).toMatch(
      new RegExp(`^http://rekey\\.test/v1\\.0/users/${user.id}/authentication/operations/(${guid})$`),
    );
    const operationId = location.split('/').pop() ?? '';

    const pending = await getOperation(admin, location);
    expect(pending.statusCode).toBe(200);
    expect(pending.json()).toEqual({
      '@odata.context': 'http://rekey.test/v1.0/$metadata#microsoft.graph.longRunningOperation',
      id: operationId,
      createdDateTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      lastActionDateTime: expect.any(String),
      resourceLocation: `http://rekey.test/v1.0/users/${user.id}`,
      status: 'notStarted',
      statusDetail: null,
    });
    // Not done yet: the old password still works.
    expect(await rekey.signInCode(user.userPrincipalName, 'Willow-Brook-31!')).toBe(0);

    expect(await rekey.operations.runDueOperations()).toBeGreaterThanOrEqual(1);
    const done = await getOperation(admin, location);
    expect(done.json()).toMatchObject({ id: operationId, status: 'succeeded', statusDetail: null });
    const events = await listOperationEvents(rekey.db.kysely, operationId);
    expect(events.map((e) => e.state)).toEqual(['notStarted', 'running', 'succeeded']);

    const audits = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlation);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({
      activity_display_name: 'Reset password (by admin)',
      result: 'success',
      initiated_by_upn: adminUpn,
    });
    // The worker writes the row, yet it names the application the administrator used.
    expect(JSON.parse(audits[0]?.initiated_by ?? '{}').app).toEqual({
      appId: cliClientId,
      displayName: 'Rekey CLI',
    });

    // The user's old token is refused; the new password must be changed at the next sign-in.
    const stale = await getOperation(user.token, location);
    expect(stale.statusCode).toBe(401);
    expect(aadstsCodeOf(stale)).toBe(50133);
    expect(await rekey.signInCode(user.userPrincipalName, 'Willow-Brook-31!')).toBe(50126);
    expect(await rekey.signInCode(user.userPrincipalName, 'Granite-Valley-58!')).toBe(50055);
    const change = await rekey.app.inject({
      method: 'POST',
      url: '/example.com/password/change',
      payload: {
        userPrincipalName: user.userPrincipalName,
        currentPassword: 'Granite-Valley-58!',
        newPassword: 'Lichen-Harbor-70!',
      },
    });
    expect(change.statusCode, change.body).toBe(204);
    expect(await rekey.signInCode(user.userPrincipalName, 'Lichen-Harbor-70!')).toBe(0);
    expect(await rekey.signInCode(user.userPrincipalName, 'Granite-Valley-58!')).toBe(50126);
  });

  it('generates a password when none is given and returns it once; the worker completes it', async () => {
    const user = await rekey.createUser('reset.generated', 'Willow-Brook-31!');
    rekey.worker.start();
    try {
      const response = await reset(admin, user.userPrincipalName, undefined);
      expect(response.statusCode, response.body).toBe(202);
      // The body carries a password: no cache may keep it.
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['pragma']).toBe('no-cache');
      const body = response.json<{ '@odata.context': string; newPassword: string }>();
      expect(body['@odata.context']).toBe(
        'http://rekey.test/v1.0/$metadata#microsoft.graph.passwordResetResponse',
      );
      // The generated password passes the whole policy engine for this user.
      const verdict = await rekey.passwordPolicy.evaluate(systemContext('generated'), {
        password: body.newPassword,
        userId: user.id,
      });
      expect(verdict.failures).toEqual([]);
      expect(verdict.valid).toBe(true);
      const location = String(response.headers['location']);
      expect(location).toContain(`/v1.0/users/${user.id}/authentication/operations/`);
      let status = '';
      for (let i = 0; i < 100 && status !== 'succeeded'; i += 1) {
        status = (await getOperation(admin, location)).json<{ status: string }>().status;
        if (status !== 'succeeded') await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(status).toBe('succeeded');
      expect(await rekey.signInCode(user.userPrincipalName, body.newPassword)).toBe(50055);
      expect(await rekey.signInCode(user.userPrincipalName, 'Willow-Brook-31!')).toBe(50126);
    } finally {
      await rekey.worker.stop();
    }
  });

  it('returns the same operation for a repeated Idempotency-Key, also when the repeats race', async () => {
    const user = await rekey.createUser('reset.idempotent', 'Willow-Brook-31!');
    const key = { 'idempotency-key': `key-${dialect}-1` };
    const first = await reset(admin, user.id, { newPassword: 'Granite-Valley-58!' }, key);
    const again = await reset(admin, user.id, { newPassword: 'Granite-Valley-58!' }, key);
    expect(first.statusCode).toBe(202);
    expect(again.statusCode).toBe(202);
    expect(again.headers['location']).toBe(first.headers['location']);
    const raced = await Promise.all(
      [1, 2, 3, 4].map(() =>
        reset(
          admin,
          user.id,
          { newPassword: 'Granite-Valley-59!' },
          { 'idempotency-key': `key-${dialect}-2` },
        ),
      ),
    );
    for (const response of raced) expect(response.statusCode, response.body).toBe(202);
    expect(new Set(raced.map((r) => r.headers['location'])).size).toBe(1);
    expect(raced[0]?.headers['location']).not.toBe(first.headers['location']);
    const rows = await rekey.db.kysely
      .selectFrom('password_operations')
      .select('idempotency_key')
      .where('user_id', '=', user.id)
      .execute();
    expect(rows.map((r) => r.idempotency_key).sort()).toEqual([`key-${dialect}-1`, `key-${dialect}-2`]);
  });

  it('refuses an Idempotency-Key sent again with a different body with 422 7700014, and keeps only a keyed fingerprint', async () => {
    const user = await rekey.createUser('reset.idempotent.changed', 'Willow-Brook-31!');
    const key = { 'idempotency-key': `key-${dialect}-changed` };
    const first = await reset(admin, user.id, { newPassword: 'Granite-Valley-58!' }, key);
    expect(first.statusCode, first.body).toBe(202);
    const changed = await reset(admin, user.id, { newPassword: 'Copper-Meadow-64!' }, key);
    expect(changed.statusCode, changed.body).toBe(422);
    expect(aadstsCodeOf(changed)).toBe(7700014);
    expect(changed.json().error.innerError.details).toEqual({ idempotencyKey: `key-${dialect}-changed` });
    // No body (a generated password) is a different request too.
    const generated = await reset(admin, user.id, undefined, key);
    expect(generated.statusCode, generated.body).toBe(422);
    expect(aadstsCodeOf(generated)).toBe(7700014);
    // The very same request still answers with the first operation.
    const same = await reset(admin, user.id, { newPassword: 'Granite-Valley-58!' }, key);
    expect(same.statusCode, same.body).toBe(202);
    expect(same.headers['location']).toBe(first.headers['location']);

    const rows = await rekey.db.kysely
      .selectFrom('password_operations')
      .select(['idempotency_key', 'idempotency_fingerprint'])
      .where('user_id', '=', user.id)
      .execute();
    expect(rows).toHaveLength(1);
    const fingerprint = rows[0]?.idempotency_fingerprint ?? '';
    expect(fingerprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fingerprint).not.toContain('Granite');
    // Keyed: a plain SHA-256 of the request is not what is stored.
    const plain = createHash('sha256')
      .update(JSON.stringify({ newPassword: 'Granite-Valley-58!' }))
      .digest('base64url');
    expect(fingerprint).not.toBe(plain);

    await rekey.operations.runDueOperations();
    expect(await rekey.signInCode(user.userPrincipalName, 'Granite-Valley-58!')).toBe(50055);
    expect(await rekey.signInCode(user.userPrincipalName, 'Copper-Meadow-64!')).toBe(50126);
  });

  // Entra's reset table lets a User, Helpdesk or Password Administrator reset a plain user through
  // resetPassword too; Rekey refused the first two here before it applied that table.
  it.each([
    ['no directory role', 403, [] as DirectoryRole[]],
    ['Global Reader', 403, ['Global Reader'] as DirectoryRole[]],
    ['User Administrator', 202, ['User Administrator'] as DirectoryRole[]],
    ['Helpdesk Administrator', 202, ['Helpdesk Administrator'] as DirectoryRole[]],
    ['Password Administrator', 202, ['Password Administrator'] as DirectoryRole[]],
    ['Authentication Administrator', 202, ['Authentication Administrator'] as DirectoryRole[]],
    [
      'Privileged Authentication Administrator',
      202,
      ['Privileged Authentication Administrator'] as DirectoryRole[],
    ],
  ])('answers a caller with %s with %i', async (role, status, roles) => {
    const alias = `caller.${role.toLowerCase().replace(/\W+/g, '')}`;
    const { token } = await rekey.createUserWithToken(alias, 'Harbor-Signal-27!', { roles });
    const target = await rekey.createUser(`${alias}.target`, 'Willow-Brook-31!');
    const response = await reset(token, target.id, { newPassword: 'Granite-Valley-58!' });
    expect(response.statusCode, response.body).toBe(status);
    if (status === 403) {
      expect(aadstsCodeOf(response)).toBe(7700103);
      expect(response.json().error.code).toBe('Authorization_RequestDenied');
      expect(await rekey.signInCode(target.userPrincipalName, 'Willow-Brook-31!')).toBe(0);
    }
  });

  it.each([
    ['Authentication Administrator', 403],
    ['Privileged Authentication Administrator', 202],
  ] as const)("lets a caller with %s reset an administrator's password: %i", async (role, status) => {
    const alias = `priv.${role.toLowerCase().replace(/\W+/g, '')}`;
    const { token } = await rekey.createUserWithToken(alias, 'Harbor-Signal-27!', { roles: [role] });
    const target = await rekey.createUser(`${alias}.admin`, 'Willow-Brook-31!', {
      roles: ['Global Administrator'],
    });
    const response = await reset(token, target.id, { newPassword: 'Granite-Valley-58!' });
    expect(response.statusCode, response.body).toBe(status);
    if (status === 403) {
      expect(aadstsCodeOf(response)).toBe(7700103);
      expect(response.json().error.innerError.details.targetRoles).toEqual(['Global Administrator']);
      expect(await rekey.signInCode(target.userPrincipalName, 'Willow-Brook-31!')).toBe(0);
    }
  });

  it('judges the rights again when the reset commits: a target made an administrator since, or a requester who lost the role, ends it with 7700103', async () => {
    const oldPassword = 'Willow-Brook-31!';
    const planted = 'Granite-Valley-58!';
    const roleAssignments = '/v1.0/roleManagement/directory/roleAssignments';
    const authAdmin = await rekey.createUserWithToken('reset.authadmin', oldPassword, {
      roles: ['Authentication Administrator'],
    });
    const statusOf = async (location: string) =>
      (await getOperation(admin, location)).json<{ status: string; statusDetail: string | null }>();

    // Accepted while the target held no role; the target is a Global Administrator by the time
    // the worker runs.
    const promoted = await rekey.createUserWithToken('reset.promoted', oldPassword);
    const first = await reset(authAdmin.token, promoted.id, { newPassword: planted });
    expect(first.statusCode, first.body).toBe(202);
    const promotion = await rekey.app.inject({
      method: 'POST',
      url: roleAssignments,
      headers: bearer(admin),
      payload: {
        principalId: promoted.id,
        roleDefinitionId: '62e90394-69f5-4237-9190-012177145e10',
        directoryScopeId: '/',
      },
    });
    expect(promotion.statusCode, promotion.body).toBe(201);
    await rekey.operations.runDueOperations();
    const refused = await statusOf(String(first.headers['location']));
    expect(refused.status).toBe('failed');
    expect(refused.statusDetail).toContain('AADSTS7700103');
    expect(await rekey.signInCode(promoted.userPrincipalName, planted)).toBe(50126);
    expect(await rekey.signInCode(promoted.userPrincipalName, oldPassword)).toBe(0);

    // Accepted from an Authentication Administrator who no longer is one when it commits.
    const plain = await rekey.createUserWithToken('reset.plain', oldPassword);
    const second = await reset(authAdmin.token, plain.id, { newPassword: planted });
    expect(second.statusCode, second.body).toBe(202);
    const held = await rekey.app.inject({
      method: 'GET',
      url: `${roleAssignments}?$filter=${encodeURIComponent(`principalId eq '${authAdmin.id}'`)}`,
      headers: bearer(admin),
    });
    const [assignment] = held.json<{ value: Array<{ id: string }> }>().value;
    const removal = await rekey.app.inject({
      method: 'DELETE',
      url: `${roleAssignments}/${assignment?.id}`,
      headers: bearer(admin),
    });
    expect(removal.statusCode, removal.body).toBe(204);
    await rekey.operations.runDueOperations();
    const lapsed = await statusOf(String(second.headers['location']));
    expect(lapsed.status).toBe('failed');
    expect(lapsed.statusDetail).toContain('AADSTS7700103');
    expect(await rekey.signInCode(plain.userPrincipalName, oldPassword)).toBe(0);
  });

  it('refuses an administrator resetting their own password with 7700104', async () => {
    const admins = await rekey.db.kysely
      .selectFrom('users')
      .select('id')
      .where('upn_key', '=', adminUpn)
      .executeTakeFirstOrThrow();
    for (const target of [admins.id, adminUpn, adminUpn.toUpperCase()]) {
      const response = await reset(admin, target, { newPassword: 'Granite-Valley-58!' });
      expect(response.statusCode).toBe(403);
      expect(aadstsCodeOf(response)).toBe(7700104);
    }
  });

  it('answers an unknown user with 404, a weak password with 120002/120003 (audited), and bad input with 400', async () => {
    const missing = await reset(admin, '5d0c7a51-7f7e-4a47-9b8e-2d3c6f0a1b2c', {
      newPassword: 'Granite-Valley-58!',
    });
    expect(missing.statusCode).toBe(404);
    expect(aadstsCodeOf(missing)).toBe(7700008);

    const user = await rekey.createUser('reset.weak', 'Willow-Brook-31!');
    const weak = await reset(
      admin,
      user.id,
      { newPassword: 'weak' },
      { 'client-request-id': `weak-${dialect}` },
    );
    expect(weak.statusCode).toBe(400);
    expect(aadstsCodeOf(weak)).toBe(120002);
    const named = await reset(admin, user.id, { newPassword: 'Reset.Weak-Zq7!m' });
    expect(aadstsCodeOf(named)).toBe(120003);
    const audits = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, `weak-${dialect}`);
    expect(audits.map((a) => [a.activity_display_name, a.result])).toEqual([
      ['Reset password (by admin)', 'failure'],
    ]);

    const extra = await reset(admin, user.id, { newPassword: 'Granite-Valley-58!', forceChange: true });
    expect(extra.statusCode).toBe(400);
    expect(aadstsCodeOf(extra)).toBe(7700001);
    const anonymous = await rekey.app.inject({
      method: 'POST',
      url: `/v1.0/users/${user.id}/authentication/methods/${passwordMethodId}/resetPassword`,
      payload: {},
    });
    expect(anonymous.statusCode).toBe(401);
    expect(aadstsCodeOf(anonymous)).toBe(7700101);
    expect(
      await rekey.db.kysely
        .selectFrom('password_operations')
        .select('id')
        .where('user_id', '=', user.id)
        .execute(),
    ).toEqual([]);
  });

  it('shows an operation only to its user and to password administrators', async () => {
    const user = await rekey.createUser('reset.viewer', 'Willow-Brook-31!');
    const other = await rekey.createUser('reset.other', 'Willow-Brook-31!');
    const response = await reset(admin, user.id, { newPassword: 'Granite-Valley-58!' });
    const location = String(response.headers['location']);
    const otherToken = await rekey.signIn(other.userPrincipalName, 'Willow-Brook-31!');
    const denied = await getOperation(otherToken, location);
    expect(denied.statusCode).toBe(403);
    expect(aadstsCodeOf(denied)).toBe(7700103);
    const ownToken = await rekey.signIn(user.userPrincipalName, 'Willow-Brook-31!');
    expect((await getOperation(ownToken, location)).statusCode).toBe(200);
    // Another user's id with this operation's id: not found, not someone else's operation.
    const crossed = await getOperation(admin, location.replace(user.id, other.id));
    expect(crossed.statusCode).toBe(404);
    expect(aadstsCodeOf(crossed)).toBe(7700008);
    const unknown = await getOperation(
      admin,
      location.replace(/[^/]+$/, '8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f'),
    );
    expect(unknown.statusCode).toBe(404);
    await rekey.operations.runDueOperations();
  });

  it('shows an operation through the user principal name as through the id, in any letter case', async () => {
    const user = await rekey.createUser('reset.by.upn', 'Willow-Brook-31!');
    const other = await rekey.createUser('reset.by.upn.other', 'Willow-Brook-31!');
    const response = await reset(admin, user.id, { newPassword: 'Granite-Valley-58!' });
    const location = String(response.headers['location']);
    const byId = await getOperation(admin, location);
    expect(byId.statusCode, byId.body).toBe(200);
    for (const upn of [user.userPrincipalName, user.userPrincipalName.toUpperCase()]) {
      const byUpn = await getOperation(admin, location.replace(user.id, upn));
      expect(byUpn.statusCode, byUpn.body).toBe(200);
      expect(byUpn.json()).toEqual(byId.json());
    }
    // Another user's name, or a name nobody has: not found.
    for (const upn of [other.userPrincipalName, 'nobody@example.com']) {
      const crossed = await getOperation(admin, location.replace(user.id, upn));
      expect(crossed.statusCode).toBe(404);
      expect(aadstsCodeOf(crossed)).toBe(7700008);
    }
    await rekey.operations.runDueOperations();
  });
});
