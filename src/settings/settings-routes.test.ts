import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode, type Json } from '../../test/support/http-helpers.js';
import { adminUpn, startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { listAuditsByCorrelation } from '../audit/audit-store.js';
import {
  defaultPasswordPolicySettings,
  defaultPasswordProtectionSettings,
} from '../passwords/policy/index.js';
import { systemContext } from '../platform/request-context.js';
import { updateUser } from '../users/user-store.js';

const dayMs = 24 * 60 * 60 * 1000;
const password = 'Saffron-Ridge-19!';

describe.each(dialects)('settings API on %s', (dialect) => {
  let rekey: TestRekey;
  let admin: string;
  let reader: string;
  let policyAdmin: string;
  let userAdmin: string;
  let plain: string;

  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    admin = await rekey.adminToken();
    reader = (await rekey.createUserWithToken('settings.reader', password, { roles: ['Global Reader'] }))
      .token;
    policyAdmin = (
      await rekey.createUserWithToken('settings.apa', password, {
        roles: ['Authentication Policy Administrator'],
      })
    ).token;
    userAdmin = (await rekey.createUserWithToken('settings.ua', password, { roles: ['User Administrator'] }))
      .token;
    plain = (await rekey.createUserWithToken('settings.plain', password)).token;
  });
  afterAll(async () => rekey?.close());
  afterEach(async () => {
    for (const [name, body] of [
      ['passwordPolicy', defaultPasswordPolicySettings],
      ['passwordProtection', defaultPasswordProtectionSettings],
    ] as const) {
      const response = await patch(name, body, admin);
      expect(response.statusCode, response.body).toBe(200);
    }
  });

  function get(name: string, token: string | undefined) {
    return rekey.app.inject({
      method: 'GET',
      url: `/rekey/v1/settings/${name}`,
      headers: token === undefined ? {} : bearer(token),
    });
  }

  function patch(
    name: string,
    body: unknown,
    token: string,
    options: { query?: string; correlationId?: string } = {},
  ) {
    return rekey.app.inject({
      method: 'PATCH',
      url: `/rekey/v1/settings/${name}${options.query ?? ''}`,
      payload: JSON.stringify(body),
      headers: {
        ...bearer(token),
        'content-type': 'application/json',
        ...(options.correlationId === undefined ? {} : { 'client-request-id': options.correlationId }),
      },
    });
  }

  const audits = (correlationId: string) =>
    listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlationId);

  it("answers Entra's defaults to any directory reader and to policy administrators", async () => {
    for (const token of [admin, reader, policyAdmin, userAdmin]) {
      const policy = await get('passwordPolicy', token);
      expect(policy.statusCode, policy.body).toBe(200);
      expect(policy.json()).toEqual({
        minLength: 8,
        maxLength: 256,
        requiredCategories: 3,
        historyCountOnChange: 1,
        historyCountOnReset: 0,
        minimumAgeDays: 0,
        maximumAgeDays: null,
        expiryWarningDays: 14,
      });
      const protection = await get('passwordProtection', token);
      expect(protection.json()).toEqual({
        enabled: true,
        mode: 'Enforced',
        customBannedPasswords: [],
        checkTenantName: true,
      });
    }
    expectErrorCode(await get('passwordPolicy', plain), 403, 7700103);
    expectErrorCode(await get('passwordProtection', undefined), 401, 7700101);
  });

  it('changes the password policy for a Global or Authentication Policy Administrator, audited with old and new values', async () => {
    const correlation = `policy-patch-${dialect}`;
    const response = await patch('passwordPolicy', { minLength: 12, maximumAgeDays: 90 }, policyAdmin, {
      correlationId: correlation,
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ minLength: 12, maximumAgeDays: 90, maxLength: 256 });
    expect((await get('passwordPolicy', reader)).json()).toMatchObject({ minLength: 12, maximumAgeDays: 90 });

    const rows = await audits(correlation);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      activity_display_name: 'Update password policy',
      category: 'Policy',
      operation_type: 'Update',
      result: 'success',
      initiated_by_upn: 'settings.apa@example.com',
    });
    expect(JSON.parse(rows[0]?.target_resources ?? '[]')).toEqual([
      {
        id: 'passwordPolicy',
        displayName: 'Password policy',
        type: 'Policy',
        userPrincipalName: null,
        modifiedProperties: [
          { displayName: 'minLength', oldValue: '8', newValue: '12' },
          { displayName: 'maximumAgeDays', oldValue: 'null', newValue: '90' },
        ],
      },
    ]);
    expect(JSON.parse(rows[0]?.additional_details ?? '[]')).toEqual([{ key: 'settingsVersion', value: '1' }]);

    // The same values again change nothing and write no audit row.
    const repeat = await patch('passwordPolicy', { minLength: 12 }, admin, {
      correlationId: `${correlation}-again`,
    });
    expect(repeat.statusCode).toBe(200);
    expect(await audits(`${correlation}-again`)).toEqual([]);

    // Readers and user administrators may not change it.
    for (const token of [reader, userAdmin, plain]) {
      expectErrorCode(await patch('passwordPolicy', { minLength: 10 }, token), 403, 7700103);
    }
    expect((await get('passwordPolicy', admin)).json()).toMatchObject({ minLength: 12 });
  });

  it('changes Password Protection, summarising the custom list in the audit row', async () => {
    const first = await patch(
      'passwordProtection',
      { customBannedPasswords: ['contoso', 'fabrikam'] },
      admin,
    );
    expect(first.statusCode, first.body).toBe(200);
    const correlation = `protection-patch-${dialect}`;
    const response = await patch(
      'passwordProtection',
      { mode: 'Audit', customBannedPasswords: [' Contoso ', 'northwind', 'NORTHWIND'] },
      policyAdmin,
      { correlationId: correlation },
    );
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({
      enabled: true,
      mode: 'Audit',
      customBannedPasswords: ['Contoso', 'northwind'],
      checkTenantName: true,
    });
    const rows = await audits(correlation);
    expect(rows.map((row) => [row.activity_display_name, row.category])).toEqual([
      ['Update password protection policy', 'Policy'],
    ]);
    const [target] = JSON.parse(rows[0]?.target_resources ?? '[]') as Array<{ modifiedProperties: Json[] }>;
    expect(target?.modifiedProperties).toEqual([
      { displayName: 'mode', oldValue: '"Enforced"', newValue: '"Audit"' },
      {
        displayName: 'customBannedPasswords',
        oldValue: '{"count":2}',
        newValue: '{"count":2,"added":["northwind"],"removed":["fabrikam"],"addedCount":1,"removedCount":1}',
      },
    ]);
  });

  it('refuses invalid settings with 7700001 naming every bad field, and changes nothing', async () => {
    const correlation = `invalid-${dialect}`;
    const bad = await patch('passwordPolicy', { minLength: 2, maxLength: 'long', colour: 'red' }, admin, {
      correlationId: correlation,
    });
    const inner = expectErrorCode(bad, 400, 7700001);
    expect((inner['details'] as { fields: Json[] }).fields).toEqual([
      { field: 'body', problem: 'is not a setting', property: 'colour' },
      { field: 'body/minLength', problem: 'must be a whole number from 4 to 256' },
      { field: 'body/maxLength', problem: 'must be a whole number from 4 to 256' },
    ]);
    const crossed = await patch('passwordPolicy', { minimumAgeDays: 10, maximumAgeDays: 5 }, admin);
    expect((expectErrorCode(crossed, 400, 7700001)['details'] as { fields: Json[] }).fields).toEqual([
      { field: 'body/maximumAgeDays', problem: 'must be greater than minimumAgeDays (10)' },
    ]);
    expectErrorCode(await patch('passwordPolicy', [1, 2], admin), 400, 7700001);
    const protection = await patch(
      'passwordProtection',
      { mode: 'Sometimes', customBannedPasswords: ['abc', 'fine-term', 7] },
      admin,
    );
    const fields = (expectErrorCode(protection, 400, 7700001)['details'] as { fields: Json[] }).fields;
    expect(fields.map((f) => f['field'])).toEqual([
      'body/mode',
      'body/customBannedPasswords/0',
      'body/customBannedPasswords/2',
    ]);
    expect((await get('passwordPolicy', admin)).json()).toEqual(defaultPasswordPolicySettings);
    expect((await get('passwordProtection', admin)).json()).toEqual(defaultPasswordProtectionSettings);
    expect(await audits(correlation)).toEqual([]);
  });

  it('previews a shorter maximum age: who would expire at once, who enters the warning window; applies nothing', async () => {
    const ago = (days: number) => new Date(Date.now() - days * dayMs).toISOString();
    const aged = async (alias: string, days: number, extra: { passwordPolicies?: string } = {}) => {
      const user = await rekey.createUser(alias, password, extra);
      await updateUser(rekey.db.kysely, user.id, { last_password_change_at: ago(days) });
      return user;
    };
    await aged('preview.a100', 100);
    await aged('preview.b40', 40);
    await aged('preview.c40-exempt', 40, { passwordPolicies: 'DisablePasswordExpiration' });
    const deleted = await aged('preview.d100-deleted', 100);
    await rekey.users.deleteUser(systemContext('preview-setup'), deleted.id);
    await aged('preview.e20', 20);
    await aged('preview.f5', 5);

    const correlation = `preview-${dialect}`;
    const preview = await patch('passwordPolicy', { maximumAgeDays: 30 }, admin, {
      query: '?preview=true',
      correlationId: correlation,
    });
    expect(preview.statusCode, preview.body).toBe(200);
    expect(preview.json()).toEqual({
      changes: [{ field: 'maximumAgeDays', oldValue: null, newValue: 30 }],
      impact: {
        usersExpiredImmediately: 2,
        sample: ['preview.a100@example.com', 'preview.b40@example.com'],
        usersEnteringWarningWindow: 1,
        usersNoLongerExpired: 0,
        appliesAtNextChange: [],
        note: expect.stringContaining('AADSTS50055'),
      },
    });
    // Nothing applied, nothing audited.
    expect((await get('passwordPolicy', admin)).json()).toMatchObject({ maximumAgeDays: null });
    expect(await audits(correlation)).toEqual([]);

    // From 90 days, only the 40-day-old password is newly expired; the 100-day one already was.
    expect((await patch('passwordPolicy', { maximumAgeDays: 90 }, admin)).statusCode).toBe(200);
    const shorter = (
      await patch('passwordPolicy', { maximumAgeDays: 30, minLength: 10 }, admin, { query: '?preview=true' })
    ).json<{ impact: Json }>();
    expect(shorter.impact).toMatchObject({
      usersExpiredImmediately: 1,
      sample: ['preview.b40@example.com'],
      usersEnteringWarningWindow: 1,
      usersNoLongerExpired: 0,
      appliesAtNextChange: ['minLength'],
    });
    expect(shorter.impact['note']).toContain('cannot be re-checked');
    const never = (
      await patch('passwordPolicy', { maximumAgeDays: null }, admin, { query: '?preview=true' })
    ).json<{
      impact: Json;
    }>();
    expect(never.impact).toMatchObject({ usersExpiredImmediately: 0, sample: [], usersNoLongerExpired: 1 });
    // The administrator created with the tenant is nowhere: a fresh password.
    expect(JSON.stringify(shorter)).not.toContain(adminUpn);
  });

  it('previews Password Protection changes as term counts, and refuses a bad preview like a bad change', async () => {
    const preview = await patch(
      'passwordProtection',
      { customBannedPasswords: ['contoso', 'fabrikam'], mode: 'Audit' },
      policyAdmin,
      { query: '?preview=true' },
    );
    expect(preview.statusCode, preview.body).toBe(200);
    const body = preview.json<{ changes: Json[]; impact: Json }>();
    expect(body.changes).toEqual([
      { field: 'mode', oldValue: 'Enforced', newValue: 'Audit' },
      {
        field: 'customBannedPasswords',
        oldValue: { count: 0 },
        newValue: { count: 2, added: ['contoso', 'fabrikam'], removed: [] },
      },
    ]);
    expect(body.impact).toMatchObject({
      customBannedPasswords: { before: 0, after: 2, added: ['contoso', 'fabrikam'], removed: [] },
      globalBannedTerms: expect.any(Number),
    });
    expect(body.impact['note']).toContain('next change');
    expect((await get('passwordProtection', admin)).json()).toEqual(defaultPasswordProtectionSettings);

    expectErrorCode(
      await patch('passwordProtection', { customBannedPasswords: ['abc'] }, admin, {
        query: '?preview=true',
      }),
      400,
      7700001,
    );
    // A misspelt or malformed preview option is refused rather than applying the change.
    expectErrorCode(
      await patch('passwordPolicy', { minLength: 10 }, admin, { query: '?previw=true' }),
      400,
      7700001,
    );
    expectErrorCode(
      await patch('passwordPolicy', { minLength: 10 }, admin, { query: '?preview=maybe' }),
      400,
      7700001,
    );
    expect((await get('passwordPolicy', admin)).json()).toMatchObject({ minLength: 8 });
    // Previewing needs the same roles as changing.
    expectErrorCode(
      await patch('passwordPolicy', { minLength: 10 }, reader, { query: '?preview=true' }),
      403,
      7700103,
    );
  });

  it('keeps each document a row of its own with a version, and applies concurrent PATCHes one after the other', async () => {
    const results = await Promise.all([
      patch('passwordPolicy', { minLength: 10 }, admin),
      patch('passwordPolicy', { expiryWarningDays: 7 }, admin),
      patch('passwordProtection', { customBannedPasswords: ['contoso'] }, admin),
    ]);
    for (const result of results) expect(result.statusCode, result.body).toBe(200);
    expect((await get('passwordPolicy', admin)).json()).toMatchObject({
      minLength: 10,
      expiryWarningDays: 7,
    });
    const rows = await rekey.db.kysely
      .selectFrom('tenant_settings')
      .select(['name', 'version', 'updated_by'])
      .where('tenant_id', '=', rekey.tenant.id)
      .orderBy('name')
      .execute();
    expect(rows.map((row) => row.name)).toEqual(['passwordPolicy', 'passwordProtection']);
    expect(rows.every((row) => row.updated_by === adminUpn)).toBe(true);
  });
});
