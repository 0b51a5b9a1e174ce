import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliTestRekey, runRekeyCli, startCliTestRekey } from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode, type Json } from '../../test/support/http-helpers.js';
import { adminUpn, startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { passwordMethodId } from '../passwords/password-routes.js';

/*
 * "An audit row for every administrative and password action in the product": each
 * state-changing route and CLI command is performed once, and the directoryAudit rows it left are
 * read back through GET /v1.0/auditLogs/directoryAudits filtered by its correlation ID.
 */

interface AuditJson {
  activityDisplayName: string;
  category: string;
  result: string;
  resultReason: string;
  correlationId: string;
  loggedByService: string;
  initiatedBy: {
    user: { id: string; userPrincipalName: string; ipAddress: string } | null;
    app: { appId: string | null; displayName: string };
  };
  targetResources: Array<{ id: string; type: string }>;
  additionalDetails: Array<{ key: string; value: string }>;
}

/** A row's additionalDetails as an object. */
const detailsOf = (row: AuditJson | undefined): Record<string, string> =>
  Object.fromEntries((row?.additionalDetails ?? []).map((detail) => [detail.key, detail.value]));

/** What one audit row must say; `initiatedBy` is a UPN, null for Rekey itself, or unchecked. */
interface ExpectedAudit {
  readonly activityDisplayName: string;
  readonly category: 'UserManagement' | 'DirectoryManagement' | 'Policy' | 'RoleManagement';
  readonly result: 'success' | 'failure';
  readonly initiatedBy?: string | null;
  readonly targetId: string;
}

/** The checked parts of a row, in the form an ExpectedAudit is written. */
function summary(row: AuditJson, expected: ExpectedAudit | undefined): Json {
  return {
    activityDisplayName: row.activityDisplayName,
    category: row.category,
    result: row.result,
    ...(expected?.initiatedBy === undefined
      ? {}
      : { initiatedBy: row.initiatedBy.user?.userPrincipalName ?? null }),
    targetId: row.targetResources[0]?.id,
  };
}

const byActivity = (a: { activityDisplayName: unknown }, b: { activityDisplayName: unknown }) =>
  String(a.activityDisplayName).localeCompare(String(b.activityDisplayName));

/** Reads the audit rows of one correlation ID through the API and compares them with `expected`. */
async function expectAudits(
  rekey: TestRekey,
  reader: string,
  correlationId: string,
  expected: readonly ExpectedAudit[],
): Promise<AuditJson[]> {
  const response = await rekey.app.inject({
    method: 'GET',
    url: `/v1.0/auditLogs/directoryAudits?$filter=${encodeURIComponent(`correlationId eq '${correlationId}'`)}`,
    headers: bearer(reader),
  });
  expect(response.statusCode, response.body).toBe(200);
  const rows = response.json<{ value: AuditJson[] }>().value;
  const sortedExpected = [...expected].sort(byActivity);
  const sortedRows = [...rows].sort(byActivity);
  // Soft: one run reports every action whose rows are wrong, not only the first.
  expect
    .soft(
      sortedRows.map((row, i) => summary(row, sortedExpected[i])),
      `audit rows of ${correlationId}`,
    )
    .toEqual(sortedExpected.map((e) => ({ ...e })));
  for (const row of rows) {
    expect(row.correlationId).toBe(correlationId);
    if (row.result === 'failure') expect(row.resultReason).toMatch(/^AADSTS\d+: ./);
  }
  return rows;
}

const password = 'Meadow-Signal-47-Zr!';

describe.each(dialects)('audit coverage of the API on %s', (dialect) => {
  let rekey: TestRekey;
  let admin: string;
  let reader: string;

  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    admin = await rekey.adminToken();
    reader = (await rekey.createUserWithToken('coverage.reader', password, { roles: ['Reports Reader'] }))
      .token;
  });
  afterAll(async () => rekey?.close());

  /** The address every request of this suite comes from, so rows can be seen to keep it. */
  const clientAddress = '203.0.113.41';

  function send(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    token: string | null,
    correlationId: string,
    payload?: Json,
  ): Promise<LightMyRequestResponse> {
    return rekey.app.inject({
      method,
      url,
      remoteAddress: clientAddress,
      headers: { ...(token === null ? {} : bearer(token)), 'client-request-id': correlationId },
      ...(payload ? { payload } : {}),
    });
  }

  /** Performs a request and asserts its status. */
  async function perform(status: number, ...args: Parameters<typeof send>): Promise<LightMyRequestResponse> {
    const response = await send(...args);
    expect(response.statusCode, `${args[0]} ${args[1]}: ${response.body}`).toBe(status);
    return response;
  }

  it('audits every administrative and password action of the HTTP API', async () => {
    const dave = await rekey.createUserWithToken('coverage.dave', password);
    const user = (id: string): ExpectedAudit['targetId'] => id;
    const checks: Array<[string, ExpectedAudit[]]> = [];
    const um = 'UserManagement' as const;

    // Users: create, update, forced change, disable, enable.
    const created = await perform(201, 'POST', '/v1.0/users', admin, 'cov-create', {
      accountEnabled: true,
      displayName: 'Erin Coverage',
      mailNickname: 'erin.coverage',
      userPrincipalName: 'erin.coverage@example.com',
      passwordProfile: { password, forceChangePasswordNextSignIn: false },
    });
    const erin = created.json<{ id: string }>().id;
    const target = user(erin);
    checks.push([
      'cov-create',
      [
        {
          activityDisplayName: 'Add user',
          category: um,
          result: 'success',
          initiatedBy: adminUpn,
          targetId: target,
        },
      ],
    ]);
    await perform(204, 'PATCH', `/v1.0/users/${erin}`, admin, 'cov-update', { jobTitle: 'Tester' });
    checks.push([
      'cov-update',
      [
        {
          activityDisplayName: 'Update user',
          category: um,
          result: 'success',
          initiatedBy: adminUpn,
          targetId: target,
        },
      ],
    ]);
    await perform(204, 'PATCH', `/v1.0/users/${erin}`, admin, 'cov-force', {
      passwordProfile: { forceChangePasswordNextSignIn: true },
    });
    checks.push([
      'cov-force',
      [
        {
          activityDisplayName: 'Set force change user password',
          category: um,
          result: 'success',
          initiatedBy: adminUpn,
          targetId: target,
        },
      ],
    ]);
    await perform(204, 'PATCH', `/v1.0/users/${erin}`, admin, 'cov-disable', { accountEnabled: false });
    checks.push([
      'cov-disable',
      [
        {
          activityDisplayName: 'Disable account',
          category: um,
          result: 'success',
          initiatedBy: adminUpn,
          targetId: target,
        },
      ],
    ]);
    await perform(204, 'PATCH', `/v1.0/users/${erin}`, admin, 'cov-enable', { accountEnabled: true });
    checks.push([
      'cov-enable',
      [
        {
          activityDisplayName: 'Enable account',
          category: um,
          result: 'success',
          initiatedBy: adminUpn,
          targetId: target,
        },
      ],
    ]);

    // Passwords: admin resets (PATCH, resetPassword, refused by policy), self-service changes.
    const reset = (correlationId: string, result: 'success' | 'failure'): [string, ExpectedAudit[]] => [
      correlationId,
      [
        {
          activityDisplayName: 'Reset password (by admin)',
          category: um,
          result,
          initiatedBy: adminUpn,
          targetId: target,
        },
      ],
    ];
    await perform(204, 'PATCH', `/v1.0/users/${erin}`, admin, 'cov-patch-password', {
      passwordProfile: { password: 'Quartz-Harvest-63-Bn!', forceChangePasswordNextSignIn: false },
    });
    checks.push(reset('cov-patch-password', 'success'));
    const resetUrl = `/v1.0/users/${erin}/authentication/methods/${passwordMethodId}/resetPassword`;
    await perform(202, 'POST', resetUrl, admin, 'cov-reset', { newPassword: 'Saffron-Glacier-28-Wd!' });
    expect(await rekey.operations.runDueOperations()).toBeGreaterThanOrEqual(1);
    checks.push(reset('cov-reset', 'success'));
    await perform(400, 'POST', resetUrl, admin, 'cov-reset-refused', { newPassword: 'abc' });
    checks.push(reset('cov-reset-refused', 'failure'));

    const selfChange = (correlationId: string, result: 'success' | 'failure'): [string, ExpectedAudit[]] => [
      correlationId,
      [
        {
          activityDisplayName: 'Change password (self-service)',
          category: um,
          result,
          initiatedBy: 'coverage.dave@example.com',
          targetId: dave.id,
        },
      ],
    ];
    await perform(400, 'POST', '/v1.0/me/changePassword', dave.token, 'cov-change-bad', {
      currentPassword: 'not-the-password',
      newPassword: 'Falcon-Ribbon-52-Hs!',
    });
    checks.push(selfChange('cov-change-bad', 'failure'));
    await perform(204, 'POST', '/v1.0/me/changePassword', dave.token, 'cov-change', {
      currentPassword: password,
      newPassword: 'Falcon-Ribbon-52-Hs!',
    });
    checks.push(selfChange('cov-change', 'success'));
    // The reset above left Erin with a forced change, made without a token at /{tenant}/password/change:
    // audited as Erin's own change (from her address), whether it is refused or done.
    const expiredChange = (
      correlationId: string,
      result: 'success' | 'failure',
    ): [string, ExpectedAudit[]] => [
      correlationId,
      [
        {
          activityDisplayName: 'Change password (self-service)',
          category: um,
          result,
          initiatedBy: 'erin.coverage@example.com',
          targetId: target,
        },
      ],
    ];
    expectErrorCode(
      await send('POST', '/example.com/password/change', null, 'cov-expired-change-bad', {
        userPrincipalName: 'erin.coverage@example.com',
        currentPassword: 'not-the-password',
        newPassword: 'Velvet-Compass-19-Pt!',
      }),
      400,
      120000,
    );
    checks.push(expiredChange('cov-expired-change-bad', 'failure'));
    await perform(400, 'POST', '/example.com/password/change', null, 'cov-expired-change-refused', {
      userPrincipalName: 'erin.coverage@example.com',
      currentPassword: 'Saffron-Glacier-28-Wd!',
      newPassword: 'abc',
    });
    checks.push(expiredChange('cov-expired-change-refused', 'failure'));
    await perform(204, 'POST', '/example.com/password/change', null, 'cov-expired-change', {
      userPrincipalName: 'erin.coverage@example.com',
      currentPassword: 'Saffron-Glacier-28-Wd!',
      newPassword: 'Velvet-Compass-19-Pt!',
    });
    checks.push(expiredChange('cov-expired-change', 'success'));

    // An accepted reset that the worker cannot finish (its user was deleted meanwhile) ends as a
    // failure, attributed to the administrator who asked, under the request's correlation ID.
    const gone = await rekey.createUser('coverage.gone', password);
    await perform(
      202,
      'POST',
      `/v1.0/users/${gone.id}/authentication/methods/${passwordMethodId}/resetPassword`,
      admin,
      'cov-reset-terminated',
      { newPassword: 'Copper-Lantern-74-Qm!' },
    );
    await perform(204, 'DELETE', `/v1.0/users/${gone.id}`, admin, 'cov-reset-terminated-delete');
    expect(await rekey.operations.runDueOperations()).toBeGreaterThanOrEqual(1);
    checks.push([
      'cov-reset-terminated',
      [
        {
          activityDisplayName: 'Reset password (by admin)',
          category: um,
          result: 'failure',
          initiatedBy: adminUpn,
          targetId: gone.id,
        },
      ],
    ]);

    // Resets refused by the directory's rules: an administrator's own password, and a role holder's
    // by an administrator without a privileged role.
    const adminId = (await send('GET', '/v1.0/me', admin, 'cov-me')).json<{ id: string }>().id;
    expectErrorCode(
      await send(
        'POST',
        `/v1.0/users/${adminId}/authentication/methods/${passwordMethodId}/resetPassword`,
        admin,
        'cov-reset-own',
        { newPassword: 'Amber-Thicket-39-Lu!' },
      ),
      403,
      7700104,
    );
    const ownReset = (correlationId: string): [string, ExpectedAudit[]] => [
      correlationId,
      [
        {
          activityDisplayName: 'Reset password (by admin)',
          category: um,
          result: 'failure',
          initiatedBy: adminUpn,
          targetId: adminId,
        },
      ],
    ];
    checks.push(ownReset('cov-reset-own'));
    expectErrorCode(
      await send('PATCH', `/v1.0/users/${adminId}`, admin, 'cov-patch-own-password', {
        passwordProfile: { password: 'Amber-Thicket-39-Lu!', forceChangePasswordNextSignIn: false },
      }),
      403,
      7700104,
    );
    checks.push(ownReset('cov-patch-own-password'));
    const authAdmin = await rekey.createUserWithToken('coverage.authadmin', password, {
      roles: ['Authentication Administrator'],
    });
    const privileged = await rekey.createUser('coverage.privileged', password, {
      roles: ['Security Reader'],
    });
    expectErrorCode(
      await send(
        'POST',
        `/v1.0/users/${privileged.id}/authentication/methods/${passwordMethodId}/resetPassword`,
        authAdmin.token,
        'cov-reset-privileged',
        { newPassword: 'Amber-Thicket-39-Lu!' },
      ),
      403,
      7700103,
    );
    checks.push([
      'cov-reset-privileged',
      [
        {
          activityDisplayName: 'Reset password (by admin)',
          category: um,
          result: 'failure',
          initiatedBy: 'coverage.authadmin@example.com',
          targetId: privileged.id,
        },
      ],
    ]);

    // Smart lockout: the settings, and an administrator's unlock.
    await perform(200, 'PATCH', '/rekey/v1/settings/smartLockout', admin, 'cov-lockout-settings', {
      lockoutThreshold: 12,
    });
    checks.push([
      'cov-lockout-settings',
      [
        {
          activityDisplayName: 'Update smart lockout policy',
          category: 'Policy',
          result: 'success',
          initiatedBy: adminUpn,
          targetId: 'smartLockout',
        },
      ],
    ]);
    await perform(200, 'POST', `/rekey/v1/users/${dave.id}/unlock`, admin, 'cov-unlock');
    checks.push([
      'cov-unlock',
      [
        {
          activityDisplayName: 'Unlock user account',
          category: um,
          result: 'success',
          initiatedBy: adminUpn,
          targetId: dave.id,
        },
      ],
    ]);

    expectErrorCode(
      await send('POST', `/rekey/v1/users/${adminId}/unlock`, admin, 'cov-unlock-own'),
      403,
      7700104,
    );
    checks.push([
      'cov-unlock-own',
      [
        {
          activityDisplayName: 'Unlock user account',
          category: um,
          result: 'failure',
          initiatedBy: adminUpn,
          targetId: adminId,
        },
      ],
    ]);
    expectErrorCode(
      await send('POST', `/rekey/v1/users/${privileged.id}/unlock`, authAdmin.token, 'cov-unlock-privileged'),
      403,
      7700103,
    );
    checks.push([
      'cov-unlock-privileged',
      [
        {
          activityDisplayName: 'Unlock user account',
          category: um,
          result: 'failure',
          initiatedBy: 'coverage.authadmin@example.com',
          targetId: privileged.id,
        },
      ],
    ]);

    // Tenant: domains and settings.
    await perform(201, 'POST', '/v1.0/domains', admin, 'cov-domain', { id: 'coverage.example' });
    checks.push([
      'cov-domain',
      [
        {
          activityDisplayName: 'Add verified domain to company',
          category: 'DirectoryManagement',
          result: 'success',
          initiatedBy: adminUpn,
          targetId: 'coverage.example',
        },
      ],
    ]);
    await perform(200, 'PATCH', '/rekey/v1/settings/passwordPolicy', admin, 'cov-policy', { minLength: 9 });
    checks.push([
      'cov-policy',
      [
        {
          activityDisplayName: 'Update password policy',
          category: 'Policy',
          result: 'success',
          initiatedBy: adminUpn,
          targetId: 'passwordPolicy',
        },
      ],
    ]);
    await perform(200, 'PATCH', '/rekey/v1/settings/passwordProtection', admin, 'cov-protection', {
      mode: 'Audit',
      customBannedPasswords: ['fabrikam'],
    });
    checks.push([
      'cov-protection',
      [
        {
          activityDisplayName: 'Update password protection policy',
          category: 'Policy',
          result: 'success',
          initiatedBy: adminUpn,
          targetId: 'passwordProtection',
        },
      ],
    ]);
    // Password Protection in Audit mode accepts a password it would refuse, and says so.
    await perform(204, 'PATCH', `/v1.0/users/${erin}`, admin, 'cov-audit-only', {
      passwordProfile: { password: 'Fabrikam!Fabrikam!', forceChangePasswordNextSignIn: false },
    });
    checks.push([
      'cov-audit-only',
      [
        ...reset('cov-audit-only', 'success')[1],
        {
          activityDisplayName: 'Password Protection audit-only result',
          category: 'Policy',
          result: 'success',
          initiatedBy: adminUpn,
          targetId: target,
        },
      ],
    ]);
    await perform(200, 'POST', '/rekey/v1/passwordPolicy/evaluate', admin, 'cov-evaluate', {
      password: 'Fabrikam!Fabrikam!',
      userId: erin,
      checkHistory: true,
    });
    checks.push([
      'cov-evaluate',
      [
        {
          activityDisplayName: 'Evaluate password against password history',
          category: um,
          result: 'success',
          initiatedBy: adminUpn,
          targetId: target,
        },
      ],
    ]);

    // Delete, restore, delete again, hard delete.
    await perform(204, 'DELETE', `/v1.0/users/${erin}`, admin, 'cov-delete');
    checks.push([
      'cov-delete',
      [
        {
          activityDisplayName: 'Delete user',
          category: um,
          result: 'success',
          initiatedBy: adminUpn,
          targetId: target,
        },
      ],
    ]);
    await perform(200, 'POST', `/v1.0/directory/deletedItems/${erin}/restore`, admin, 'cov-restore');
    checks.push([
      'cov-restore',
      [
        {
          activityDisplayName: 'Restore user',
          category: um,
          result: 'success',
          initiatedBy: adminUpn,
          targetId: target,
        },
      ],
    ]);
    await perform(204, 'DELETE', `/v1.0/users/${erin}`, admin, 'cov-delete-again');
    await perform(204, 'DELETE', `/v1.0/directory/deletedItems/${erin}`, admin, 'cov-purge');
    checks.push([
      'cov-purge',
      [
        {
          activityDisplayName: 'Hard delete user',
          category: um,
          result: 'success',
          initiatedBy: adminUpn,
          targetId: target,
        },
      ],
    ]);

    // Refused by the directory's rules: audited as failures.
    expectErrorCode(
      await send('PATCH', `/v1.0/users/${adminId}`, admin, 'cov-refuse-last-admin', {
        accountEnabled: false,
      }),
      400,
      7700106,
    );
    checks.push([
      'cov-refuse-last-admin',
      [
        {
          activityDisplayName: 'Disable account',
          category: um,
          result: 'failure',
          initiatedBy: adminUpn,
          targetId: adminId,
        },
      ],
    ]);
    expectErrorCode(
      await send('DELETE', `/v1.0/users/${adminId}`, admin, 'cov-refuse-self-delete'),
      403,
      7700107,
    );
    checks.push([
      'cov-refuse-self-delete',
      [
        {
          activityDisplayName: 'Delete user',
          category: um,
          result: 'failure',
          initiatedBy: adminUpn,
          targetId: adminId,
        },
      ],
    ]);
    const userAdmin = await rekey.createUserWithToken('coverage.useradmin', password, {
      roles: ['User Administrator'],
    });
    const roleHolder = await rekey.createUser('coverage.reader2', password, { roles: ['Global Reader'] });
    expectErrorCode(
      await send('PATCH', `/v1.0/users/${roleHolder.id}`, userAdmin.token, 'cov-refuse-role-holder', {
        jobTitle: 'Taken over',
      }),
      403,
      7700103,
    );
    checks.push([
      'cov-refuse-role-holder',
      [
        {
          activityDisplayName: 'Update user',
          category: um,
          result: 'failure',
          initiatedBy: 'coverage.useradmin@example.com',
          targetId: roleHolder.id,
        },
      ],
    ]);

    // Role management: an assignment, its removal, and an attempt by someone who may not.
    const roleBase = '/v1.0/roleManagement/directory/roleAssignments';
    const reportsReader = '4a5d8f65-41da-4de4-8968-e035b65339cf';
    const newReader = await rekey.createUser('coverage.newreader', password);
    const assigned = await perform(201, 'POST', roleBase, admin, 'cov-role-assign', {
      principalId: newReader.id,
      roleDefinitionId: reportsReader,
      directoryScopeId: '/',
    });
    const roleAudit = (result: 'success' | 'failure', activity: string, by: string): ExpectedAudit => ({
      activityDisplayName: activity,
      category: 'RoleManagement',
      result,
      initiatedBy: by,
      targetId: newReader.id,
    });
    checks.push(['cov-role-assign', [roleAudit('success', 'Add member to role', adminUpn)]]);
    const assignmentId = assigned.json<{ id: string }>().id;
    await perform(204, 'DELETE', `${roleBase}/${assignmentId}`, admin, 'cov-role-remove');
    checks.push(['cov-role-remove', [roleAudit('success', 'Remove member from role', adminUpn)]]);
    expectErrorCode(
      await send('POST', roleBase, userAdmin.token, 'cov-role-refused', {
        principalId: newReader.id,
        roleDefinitionId: reportsReader,
        directoryScopeId: '/',
      }),
      403,
      7700103,
    );
    checks.push([
      'cov-role-refused',
      [roleAudit('failure', 'Add member to role', 'coverage.useradmin@example.com')],
    ]);

    // HTTP captures: started, then stopped early.
    const capture = await perform(201, 'POST', '/rekey/v1/captures', admin, 'cov-capture-start', {
      correlationId: 'cov-captured',
      durationMinutes: 5,
    });
    const captureId = capture.json<{ id: string }>().id;
    const captureAudit = (activity: string): ExpectedAudit => ({
      activityDisplayName: activity,
      category: 'DirectoryManagement',
      result: 'success',
      initiatedBy: adminUpn,
      targetId: captureId,
    });
    checks.push(['cov-capture-start', [captureAudit('Start HTTP capture')]]);
    await perform(200, 'DELETE', `/rekey/v1/captures/${captureId}`, admin, 'cov-capture-stop');
    checks.push(['cov-capture-stop', [captureAudit('Stop HTTP capture')]]);

    const rowsOf = new Map<string, AuditJson[]>();
    for (const [correlationId, expected] of checks) {
      rowsOf.set(correlationId, await expectAudits(rekey, reader, correlationId, expected));
    }

    // Rows written for a request carry its caller's address, the expired change's included
    // (its success row is written by the operation the request ran).
    for (const correlationId of [
      'cov-expired-change-bad',
      'cov-expired-change-refused',
      'cov-expired-change',
    ]) {
      const [row] = rowsOf.get(correlationId) ?? [];
      expect(row?.initiatedBy.user, correlationId).toMatchObject({ id: erin, ipAddress: clientAddress });
    }
    // The worker's failure row: Graph's "terminated", with the cause and the operation alongside.
    const [terminated] = rowsOf.get('cov-reset-terminated') ?? [];
    expect(terminated?.resultReason).toBe(
      'AADSTS120008: The password operation ended with an error that retrying will not fix.',
    );
    expect(detailsOf(terminated)).toMatchObject({
      causeCode: 'AADSTS7700105',
      causeName: 'DeletedAccount',
      operationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(terminated?.initiatedBy.app.displayName).not.toBe('Rekey');
  });
});

describe.each(dialects)('audit coverage of the CLI on %s', (dialect) => {
  let cli: CliTestRekey;
  let reader: string;

  beforeAll(async () => {
    cli = await startCliTestRekey(dialect, 'rekey-audit-coverage-');
    reader = (await cli.rekey.createUserWithToken('cli.reader', password, { roles: ['Global Reader'] }))
      .token;
  });
  afterAll(async () => cli?.close());

  async function run(...args: string[]): Promise<string> {
    const result = await runRekeyCli(cli.env, args);
    expect(result.code, result.err).toBe(0);
    return result.out;
  }

  /**
   * The CLI's correlation ID is made per command and not printed, so the row is found by its
   * target and activity first; its correlation ID must then find it (and only what that command did).
   */
  async function expectCliAudit(
    activityDisplayName: string,
    category: ExpectedAudit['category'],
    targetId: string,
  ) {
    const filter = `targetResources/any(t: t/id eq '${targetId}') and activityDisplayName eq '${activityDisplayName}'`;
    const response = await cli.rekey.app.inject({
      method: 'GET',
      url: `/v1.0/auditLogs/directoryAudits?$top=1&$filter=${encodeURIComponent(filter)}`,
      headers: bearer(reader),
    });
    expect(response.statusCode, response.body).toBe(200);
    const [latest] = response.json<{ value: AuditJson[] }>().value;
    expect(latest, `${activityDisplayName} of ${targetId}`).toBeDefined();
    const rows = await expectAudits(cli.rekey, reader, latest?.correlationId ?? '', [
      { activityDisplayName, category, result: 'success', initiatedBy: null, targetId },
    ]);
    // Whoever runs the CLI holds the database: the row names Rekey itself.
    expect(rows[0]?.initiatedBy).toEqual({ user: null, app: { appId: null, displayName: 'Rekey' } });
  }

  it('audits every state-changing command, attributed to Rekey', async () => {
    const created = JSON.parse(
      await run(
        'users',
        'create',
        '--upn',
        'frank.cli@example.com',
        '--display-name',
        'Frank Cli',
        '--password',
        password,
        '--no-force-change',
        '--json',
      ),
    ) as { id: string };
    await expectCliAudit('Add user', 'UserManagement', created.id);
    await run(
      'users',
      'set-password',
      'frank.cli@example.com',
      '--password',
      'Pebble-Orbit-35-Jc!',
      '--json',
    );
    await expectCliAudit('Reset password (by admin)', 'UserManagement', created.id);
    await run('users', 'disable', 'frank.cli@example.com');
    await expectCliAudit('Disable account', 'UserManagement', created.id);
    await run('users', 'enable', 'frank.cli@example.com');
    await expectCliAudit('Enable account', 'UserManagement', created.id);
    await run('users', 'delete', 'frank.cli@example.com');
    await expectCliAudit('Delete user', 'UserManagement', created.id);
    await run('users', 'restore', created.id);
    await expectCliAudit('Restore user', 'UserManagement', created.id);
    // Unlocking an account that is not locked changes nothing and is not audited: lock it first.
    for (let i = 0; i < 10; i += 1) await cli.rekey.signInCode('frank.cli@example.com', `Wrong-Frank-${i}!`);
    await run('users', 'unlock', 'frank.cli@example.com');
    await expectCliAudit('Unlock user account', 'UserManagement', created.id);
    await run('users', 'roles', 'frank.cli@example.com', '--add', 'Reports Reader');
    await expectCliAudit('Add member to role', 'RoleManagement', created.id);
    await run('users', 'roles', 'frank.cli@example.com', '--remove', 'Reports Reader');
    await expectCliAudit('Remove member from role', 'RoleManagement', created.id);
    await run('logs', 'purge');
    await expectCliAudit('Purge logs past retention', 'DirectoryManagement', 'auditLogs');
    await run('lockout', 'set', '--threshold', '11');
    await expectCliAudit('Update smart lockout policy', 'Policy', 'smartLockout');
    await run('policy', 'set', '--min-length', '9', '--yes');
    await expectCliAudit('Update password policy', 'Policy', 'passwordPolicy');
    await run('policy', 'protection', 'set', '--add-term', 'tailspin', '--yes');
    await expectCliAudit('Update password protection policy', 'Policy', 'passwordProtection');
    // Importing a breached-password list into the set Rekey consults changes what every new
    // password is checked against.
    const list = path.join(cli.dir, 'breached-sha1.txt');
    writeFileSync(
      list,
      ['Harbor-Leak-1', 'Harbor-Leak-2', 'Harbor-Leak-3']
        .map((leaked, i) => `${createHash('sha1').update(leaked).digest('hex').toUpperCase()}:${i + 1}\r\n`)
        .join(''),
    );
    await run('breached', 'import', list);
    await expectCliAudit('Import breached password list', 'Policy', 'breachedPasswordList');
  });
});
