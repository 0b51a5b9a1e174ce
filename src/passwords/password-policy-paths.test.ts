import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode, type Json } from '../../test/support/http-helpers.js';
import {
  cliClientId,
  passwordGrant,
  startTestRekey,
  type TestRekey,
} from '../../test/support/rekey-harness.js';
import { listAuditsByCorrelation } from '../audit/audit-store.js';
import { updateUser } from '../users/user-store.js';
import { passwordMethodId } from './password-routes.js';
import {
  applyPasswordPolicyPatch,
  applyPasswordProtectionPatch,
  defaultPasswordPolicySettings,
  defaultPasswordProtectionSettings,
  type PasswordProtectionPatch,
  type PolicyRuleId,
} from './policy/index.js';

/*
 * One engine behind every path: each rule, reached through the self-service change, the
 * administrator's resets (Graph resetPassword and PATCH passwordProfile) and the evaluate dry
 * run, with the same code and rule id; then history, minimum age, Audit mode and expiry at
 * sign-in, which depend on the user's past.
 */

const tenantName = 'Quillbrook';
const initial = 'Saffron-Ridge-19!';
const profile = { displayName: 'Policy Valeworth', givenName: 'Policy', surname: 'Valeworth' };
const dayMs = 24 * 60 * 60 * 1000;

interface RuleCase {
  readonly label: string;
  readonly rule: PolicyRuleId;
  readonly code: number;
  readonly password: string;
  readonly protection?: PasswordProtectionPatch;
}

const ruleCases: readonly RuleCase[] = [
  { label: 'length', rule: 'length', code: 120002, password: 'Qx7!vKw' },
  { label: 'characterCategories', rule: 'characterCategories', code: 120002, password: 'zqvmrtkplwxj' },
  {
    label: 'unsupportedCharacters',
    rule: 'unsupportedCharacters',
    code: 120002,
    password: 'Zqvm-Rtkp-Wxj-é7',
  },
  { label: 'containsUserName', rule: 'containsUserName', code: 120003, password: 'Valeworth-Zq7!mK' },
  {
    label: 'passwordProtection (custom term)',
    rule: 'passwordProtection',
    code: 120018,
    password: 'Zorbex2024!',
    protection: { customBannedPasswords: ['zorbex'] },
  },
  {
    label: 'passwordProtection (tenant name)',
    rule: 'passwordProtection',
    code: 120018,
    password: 'Quillbrook2024!',
  },
  // A famous password (the Enterprise's registry) that the shipped breached set holds and that
  // passes every other rule; the first test checks that with the engine.
  { label: 'breached', rule: 'breached', code: 120002, password: 'Ncc1701d' },
];

function failedRules(response: LightMyRequestResponse): string[] {
  const details = response.json<{
    error: { innerError: { details: { failures: Array<{ rule: string }> } } };
  }>().error.innerError.details;
  return details.failures.map((failure) => failure.rule);
}

describe.each(dialects)('one password policy behind every path on %s', (dialect) => {
  let rekey: TestRekey;
  let admin: string;
  let aliasCount = 0;

  beforeAll(async () => {
    rekey = await startTestRekey(dialect, { env: { REKEY_TENANT_NAME: tenantName } });
    admin = await rekey.adminToken();
  });
  afterAll(async () => rekey?.close());
  afterEach(async () => {
    // Every test starts from the default settings.
    await patchSettings('passwordPolicy', defaultPasswordPolicySettings);
    await patchSettings('passwordProtection', defaultPasswordProtectionSettings);
  });

  const alias = (name: string) => {
    aliasCount += 1;
    return `${name}.${aliasCount}`;
  };

  function call(
    method: 'GET' | 'POST' | 'PATCH',
    url: string,
    token: string | undefined,
    payload?: object,
    correlationId?: string,
  ) {
    return rekey.app.inject({
      method,
      url,
      ...(payload === undefined ? {} : { payload }),
      headers: {
        ...(token === undefined ? {} : bearer(token)),
        ...(correlationId === undefined ? {} : { 'client-request-id': correlationId }),
      },
    });
  }

  async function patchSettings(name: 'passwordPolicy' | 'passwordProtection', body: object) {
    const response = await call('PATCH', `/rekey/v1/settings/${name}`, admin, body);
    expect(response.statusCode, response.body).toBe(200);
    return response.json<Json>();
  }

  const changeOwn = (token: string, currentPassword: string, newPassword: string, correlationId?: string) =>
    call('POST', '/v1.0/me/changePassword', token, { currentPassword, newPassword }, correlationId);
  const changeExpired = (userPrincipalName: string, currentPassword: string, newPassword: string) =>
    call('POST', '/example.com/password/change', undefined, {
      userPrincipalName,
      currentPassword,
      newPassword,
    });
  const resetPassword = (id: string, newPassword: string, correlationId?: string) =>
    call(
      'POST',
      `/v1.0/users/${id}/authentication/methods/${passwordMethodId}/resetPassword`,
      admin,
      { newPassword },
      correlationId,
    );
  const patchPassword = (id: string, password: string) =>
    call('PATCH', `/v1.0/users/${id}`, admin, {
      passwordProfile: { password, forceChangePasswordNextSignIn: false },
    });
  const evaluate = (body: object, token = admin, correlationId?: string) =>
    call('POST', '/rekey/v1/passwordPolicy/evaluate', token, body, correlationId);

  it('uses passwords that fail exactly the rule each case names (checked with the engine itself)', () => {
    for (const rule of ruleCases) {
      const result = rekey.policyEngine.evaluateWithoutHistory({
        password: rule.password,
        operation: 'change',
        subject: { userPrincipalName: 'someone@example.com', ...profile, passwordPolicies: null },
        tenantName,
        settings: {
          passwordPolicy: defaultPasswordPolicySettings,
          passwordProtection: applyPasswordProtectionPatch(
            defaultPasswordProtectionSettings,
            rule.protection ?? {},
          ),
        },
        now: new Date(),
      });
      expect(
        result.failures.map((f) => f.rule),
        rule.label,
      ).toEqual([rule.rule]);
    }
    // The custom term is what refuses 'Zorbex2024!': without it the password passes.
    const without = rekey.policyEngine.evaluateWithoutHistory({
      password: 'Zorbex2024!',
      operation: 'change',
      subject: {},
      tenantName,
      settings: {
        passwordPolicy: defaultPasswordPolicySettings,
        passwordProtection: defaultPasswordProtectionSettings,
      },
      now: new Date(),
    });
    expect(without.valid).toBe(true);
  });

  it.each(ruleCases)(
    'refuses $label with its code and rule id through change, resets and evaluate',
    async (rule) => {
      if (rule.protection) await patchSettings('passwordProtection', rule.protection);

      // Self-service change.
      const changer = await rekey.createUserWithToken(alias('rule.change'), initial, profile);
      const changed = await changeOwn(changer.token, initial, rule.password);
      expectErrorCode(changed, 400, rule.code);
      expect(failedRules(changed)).toEqual([rule.rule]);
      expect(changed.body).not.toContain(rule.password);
      expect(await rekey.signInCode(changer.userPrincipalName, initial)).toBe(0);

      // Administrator's resets: Graph resetPassword and PATCH passwordProfile.
      const target = await rekey.createUser(alias('rule.reset'), initial, profile);
      const reset = await resetPassword(target.id, rule.password);
      expectErrorCode(reset, 400, rule.code);
      expect(failedRules(reset)).toEqual([rule.rule]);
      const patched = await patchPassword(target.id, rule.password);
      expectErrorCode(patched, 400, rule.code);
      expect(failedRules(patched)).toEqual([rule.rule]);
      expect(await rekey.signInCode(target.userPrincipalName, initial)).toBe(0);

      // The dry run, for the same user.
      const dryRun = await evaluate({ password: rule.password, userId: target.id });
      expect(dryRun.statusCode, dryRun.body).toBe(200);
      const body = dryRun.json<Json & { failures: Json[]; passwordProtection: Json }>();
      expect(body['valid']).toBe(false);
      expect(body.failures).toEqual([{ rule: rule.rule, code: rule.code, message: expect.any(String) }]);
      expect(body.passwordProtection).toMatchObject({ required: 5, mode: 'Enforced' });
      expect(typeof body.passwordProtection['score']).toBe('number');
      expect(Array.isArray(body.passwordProtection['matchedTerms'])).toBe(true);
      expect(dryRun.body).not.toContain(rule.password);
    },
  );

  it('reports the Password Protection workings: the tenant name and custom terms it found, and the score', async () => {
    await patchSettings('passwordProtection', { customBannedPasswords: ['zorbex'] });
    const custom = (await evaluate({ password: 'Zorbex2024!' })).json<{ passwordProtection: Json }>();
    expect(custom.passwordProtection).toMatchObject({
      score: 3,
      required: 5,
      matchedTerms: ['zorbex', '2024'],
      passed: false,
      auditOnly: false,
    });
    expect(custom.passwordProtection['matchedSources']).toEqual(expect.arrayContaining(['custom', 'global']));
    const tenant = (await evaluate({ password: 'Quillbrook2024!' })).json<{ passwordProtection: Json }>();
    expect(tenant.passwordProtection).toMatchObject({ score: 3, matchedTerms: ['quillbrook', '2024'] });
    expect(tenant.passwordProtection['matchedSources']).toEqual(expect.arrayContaining(['tenantName']));
  });

  it('refuses the current password on a change (history, default count 1) but lets a reset reuse it', async () => {
    const user = await rekey.createUserWithToken(alias('history.default'), initial, profile);
    const same = await changeOwn(user.token, initial, initial);
    expectErrorCode(same, 400, 120002);
    expect(failedRules(same)).toEqual(['history']);
    // historyCountOnReset is 0 by default: an administrator may set the current password again.
    const reset = await patchPassword(user.id, initial);
    expect(reset.statusCode, reset.body).toBe(204);
    // With historyCountOnReset raised, the reset is refused by the history rule too.
    await patchSettings('passwordPolicy', { historyCountOnReset: 2 });
    const refused = await resetPassword(user.id, initial);
    expectErrorCode(refused, 400, 120002);
    expect(failedRules(refused)).toEqual(['history']);
  });

  it('refuses an older password once historyCountOnChange is 3, and accepts it again at 1', async () => {
    const user = await rekey.createUser(alias('history.three'), 'Amber-Lantern-8!', profile);
    const chain = ['Amber-Lantern-8!', 'Cobalt-Meadow-62!', 'Tidal-Compass-93!'];
    for (let i = 1; i < chain.length; i += 1) {
      const token = await rekey.signIn(user.userPrincipalName, chain[i - 1] ?? '');
      const step = await changeOwn(token, chain[i - 1] ?? '', chain[i] ?? '');
      expect(step.statusCode, step.body).toBe(204);
    }
    await patchSettings('passwordPolicy', { historyCountOnChange: 3 });
    const token = await rekey.signIn(user.userPrincipalName, 'Tidal-Compass-93!');
    for (const older of ['Amber-Lantern-8!', 'Cobalt-Meadow-62!']) {
      const refused = await changeOwn(token, 'Tidal-Compass-93!', older);
      expectErrorCode(refused, 400, 120002);
      expect(failedRules(refused)).toEqual(['history']);
      expect(refused.json().error.innerError.details.failures[0].message).toContain('last 3 passwords');
    }
    // The dry run reaches the same rule, only when asked, and records that it looked.
    const withoutHistory = (await evaluate({ password: 'Amber-Lantern-8!', userId: user.id })).json();
    expect(withoutHistory).toMatchObject({ valid: true, historyChecked: 0 });
    expect(withoutHistory.rulesChecked).not.toContain('history');
    const correlation = `evaluate-history-${dialect}`;
    const checked = await evaluate(
      { password: 'Amber-Lantern-8!', userId: user.id, checkHistory: true },
      admin,
      correlation,
    );
    // Three entries, of which the newest is the current password: the dry run compares the
    // other two, never the current password (that would test it with no smart lockout).
    expect(checked.json()).toMatchObject({
      valid: false,
      failures: [{ rule: 'history', code: 120002 }],
      historyChecked: 2,
    });
    const current = await evaluate(
      { password: 'Tidal-Compass-93!', userId: user.id, checkHistory: true },
      admin,
    );
    expect(current.json()).toMatchObject({ valid: true, failures: [], historyChecked: 2 });
    const audits = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlation);
    expect(audits.map((a) => [a.activity_display_name, a.operation_type, a.result])).toEqual([
      ['Evaluate password against password history', 'Other', 'success'],
    ]);
    expect(JSON.parse(audits[0]?.additional_details ?? '[]')).toEqual([
      { key: 'historyEntriesCompared', value: '2' },
      { key: 'matchedHistory', value: 'true' },
    ]);
    expect(JSON.stringify(audits)).not.toContain('Amber-Lantern');

    await patchSettings('passwordPolicy', { historyCountOnChange: 1 });
    const accepted = await changeOwn(token, 'Tidal-Compass-93!', 'Amber-Lantern-8!');
    expect(accepted.statusCode, accepted.body).toBe(204);
  });

  it('applies the minimum age to changes and the dry run, not to resets or a forced change', async () => {
    await patchSettings('passwordPolicy', { minimumAgeDays: 1 });
    const user = await rekey.createUserWithToken(alias('minimum.age'), initial, profile);
    const early = await changeOwn(user.token, initial, 'Cobalt-Meadow-62!');
    expectErrorCode(early, 400, 120002);
    expect(failedRules(early)).toEqual(['minimumAge']);
    const dryRun = (await evaluate({ password: 'Cobalt-Meadow-62!', userId: user.id })).json();
    expect(dryRun).toMatchObject({ valid: false, failures: [{ rule: 'minimumAge', code: 120002 }] });

    // A reset is exempt, and the user it forces to change may do so at once.
    const reset = await call('PATCH', `/v1.0/users/${user.id}`, admin, {
      passwordProfile: { password: 'Granite-Valley-58!', forceChangePasswordNextSignIn: true },
    });
    expect(reset.statusCode, reset.body).toBe(204);
    expect(await rekey.signInCode(user.userPrincipalName, 'Granite-Valley-58!')).toBe(50055);
    const forced = await changeExpired(user.userPrincipalName, 'Granite-Valley-58!', 'Cobalt-Meadow-62!');
    expect(forced.statusCode, forced.body).toBe(204);
    expect(await rekey.signInCode(user.userPrincipalName, 'Cobalt-Meadow-62!')).toBe(0);
  });

  it('in Audit mode lets a weak password through and records the would-be refusal, never the password', async () => {
    await patchSettings('passwordProtection', { mode: 'Audit', customBannedPasswords: ['zorbex'] });
    const user = await rekey.createUserWithToken(alias('audit.mode'), initial, profile);
    const correlation = `audit-mode-${dialect}`;
    const changed = await changeOwn(user.token, initial, 'Zorbex2024!', correlation);
    expect(changed.statusCode, changed.body).toBe(204);
    expect(await rekey.signInCode(user.userPrincipalName, 'Zorbex2024!')).toBe(0);

    const audits = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlation);
    expect(audits.map((a) => [a.activity_display_name, a.category, a.result])).toEqual([
      ['Password Protection audit-only result', 'Policy', 'success'],
      ['Change password (self-service)', 'UserManagement', 'success'],
    ]);
    const details = JSON.parse(audits[0]?.additional_details ?? '[]') as Json[];
    expect(details).toEqual([
      { key: 'operation', value: 'change' },
      { key: 'score', value: '3' },
      { key: 'requiredScore', value: '5' },
      { key: 'matchedSources', value: expect.stringContaining('custom') },
      { key: 'matchedTermCount', value: '2' },
    ]);
    expect(audits[0]?.result_reason).toContain('Audit mode');
    expect(JSON.stringify(audits)).not.toContain('Zorbex2024');
    const logged = rekey.logLines.filter((line) => line.includes('passwordProtection.auditOnly'));
    expect(logged.some((line) => line.includes(correlation))).toBe(true);
    for (const line of logged) expect(line).not.toContain('Zorbex2024');

    // The same through a reset and an account creation; the dry run says it would pass, flagged.
    const target = await rekey.createUser(alias('audit.reset'), initial, profile);
    const resetCorrelation = `audit-reset-${dialect}`;
    expect((await resetPassword(target.id, 'Zorbex2024!', resetCorrelation)).statusCode).toBe(202);
    const resetAudits = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, resetCorrelation);
    expect(resetAudits.map((a) => a.activity_display_name)).toContain(
      'Password Protection audit-only result',
    );
    const created = await call(
      'POST',
      '/v1.0/users',
      admin,
      {
        accountEnabled: true,
        displayName: 'Audit Created',
        mailNickname: 'audit.created',
        userPrincipalName: `${alias('audit.created')}@example.com`,
        passwordProfile: { password: 'Zorbex2024!' },
      },
      `audit-create-${dialect}`,
    );
    expect(created.statusCode, created.body).toBe(201);
    const createAudits = await listAuditsByCorrelation(
      rekey.db.kysely,
      rekey.tenant.id,
      `audit-create-${dialect}`,
    );
    expect(createAudits.map((a) => a.activity_display_name)).toEqual([
      'Add user',
      'Password Protection audit-only result',
    ]);
    const dryRun = (await evaluate({ password: 'Zorbex2024!' })).json();
    expect(dryRun).toMatchObject({
      valid: true,
      failures: [],
      passwordProtection: { score: 3, passed: false, auditOnly: true, mode: 'Audit' },
    });
  });

  it('expires a password past maximumAgeDays at sign-in (50055), lets the user change it, and warns before', async () => {
    await patchSettings('passwordPolicy', { maximumAgeDays: 30, expiryWarningDays: 14 });
    const ago = (days: number) => new Date(Date.now() - days * dayMs).toISOString();
    const expired = await rekey.createUser(alias('expiry.old'), initial, profile);
    const warned = await rekey.createUser(alias('expiry.soon'), initial, profile);
    const exempt = await rekey.createUser(alias('expiry.exempt'), initial, {
      ...profile,
      passwordPolicies: 'DisablePasswordExpiration',
    });
    await updateUser(rekey.db.kysely, expired.id, { last_password_change_at: ago(40) });
    await updateUser(rekey.db.kysely, warned.id, { last_password_change_at: ago(20) });
    await updateUser(rekey.db.kysely, exempt.id, { last_password_change_at: ago(400) });

    // Graph shows the date that drives it.
    const shown = await call('GET', `/v1.0/users/${expired.id}?$select=lastPasswordChangeDateTime`, admin);
    expect(Date.parse(shown.json().lastPasswordChangeDateTime)).toBeLessThan(Date.now() - 39 * dayMs);

    const refused = await rekey.tokenRequest(passwordGrant(expired.userPrincipalName, initial));
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ error: 'invalid_grant', error_codes: [50055] });
    const signIn = await rekey.db.kysely
      .selectFrom('sign_ins')
      .select(['error_code'])
      .where('user_id', '=', expired.id)
      .execute();
    expect(signIn.map((row) => row.error_code)).toEqual([50055]);
    // A wrong password is still just a wrong password: expiry is told only to the owner.
    expect(await rekey.signInCode(expired.userPrincipalName, 'Saffron-Ridge-20!')).toBe(50126);

    const changed = await changeExpired(expired.userPrincipalName, initial, 'Cobalt-Meadow-62!');
    expect(changed.statusCode, changed.body).toBe(204);
    const after = await rekey.tokenRequest(passwordGrant(expired.userPrincipalName, 'Cobalt-Meadow-62!'));
    expect(after.statusCode, after.body).toBe(200);
    expect(after.json()).not.toHaveProperty('pwd_exp');

    // In the warning window the token response says when, and where to change it.
    const warning = await rekey.tokenRequest(passwordGrant(warned.userPrincipalName, initial));
    expect(warning.statusCode, warning.body).toBe(200);
    const body = warning.json<{ pwd_exp: number; pwd_url: string; refresh_token: string }>();
    expect(body.pwd_exp).toBeGreaterThan(10 * 86400 - 120);
    expect(body.pwd_exp).toBeLessThanOrEqual(10 * 86400);
    expect(body.pwd_url).toBe('http://rekey.test/example.com/password/change');

    // Once it expires, its refresh token stops working too.
    await updateUser(rekey.db.kysely, warned.id, { last_password_change_at: ago(31) });
    const refresh = await rekey.tokenRequest({
      grant_type: 'refresh_token',
      client_id: cliClientId,
      refresh_token: body.refresh_token,
    });
    expect(refresh.json()).toMatchObject({ error_codes: [50055] });

    // DisablePasswordExpiration: never expires, never warns.
    const free = await rekey.tokenRequest(passwordGrant(exempt.userPrincipalName, initial));
    expect(free.statusCode, free.body).toBe(200);
    expect(free.json()).not.toHaveProperty('pwd_exp');
  });

  it('evaluate: roles, who it judges, a dry run that stores nothing', async () => {
    const plain = await rekey.createUserWithToken(alias('eval.plain'), initial);
    expectErrorCode(await evaluate({ password: 'Qx7!vKw' }, plain.token), 403, 7700103);
    const reader = await rekey.createUserWithToken(alias('eval.reader'), initial, {
      roles: ['Global Reader'],
    });
    expectErrorCode(await evaluate({ password: 'Qx7!vKw' }, reader.token), 403, 7700103);
    expectErrorCode(
      await call('POST', '/rekey/v1/passwordPolicy/evaluate', undefined, { password: 'x' }),
      401,
      7700101,
    );
    const policyAdmin = await rekey.createUserWithToken(alias('eval.apa'), initial, {
      roles: ['Authentication Policy Administrator'],
    });
    const authAdmin = await rekey.createUserWithToken(alias('eval.aa'), initial, {
      roles: ['Authentication Administrator'],
    });
    const target = await rekey.createUser(alias('eval.target'), initial, profile);
    expect((await evaluate({ password: 'Qx7!vKw' }, policyAdmin.token)).statusCode).toBe(200);
    expect((await evaluate({ password: 'Qx7!vKw' }, authAdmin.token)).statusCode).toBe(200);

    // History needs a role that may reset the user's password; a role holder needs a privileged one.
    expectErrorCode(
      await evaluate({ password: initial, userId: target.id, checkHistory: true }, policyAdmin.token),
      403,
      7700103,
    );
    const byResetter = await evaluate(
      { password: initial, userId: target.id, checkHistory: true },
      authAdmin.token,
    );
    // The target's only history entry is the current password, which a dry run never compares.
    expect(byResetter.json()).toMatchObject({ historyChecked: 0 });
    expect(byResetter.json().failures.map((failure: { rule: string }) => failure.rule)).not.toContain(
      'history',
    );
    expectErrorCode(
      await evaluate({ password: initial, userId: policyAdmin.id, checkHistory: true }, authAdmin.token),
      403,
      7700103,
    );

    // A user principal name that nobody has yet is judged as a new account with that name.
    const prospective = (
      await evaluate({ password: 'Hartwell-Zq7!mK', userPrincipalName: 'dana.hartwell@example.com' })
    ).json();
    expect(prospective).toMatchObject({
      valid: false,
      failures: [{ rule: 'containsUserName', code: 120003 }],
      user: { id: null, userPrincipalName: 'dana.hartwell@example.com', exists: false },
    });
    const named = (await evaluate({ password: 'Brightwater-Zq7!mK', displayName: 'Sam Brightwater' })).json();
    expect(named).toMatchObject({ valid: false, failures: [{ rule: 'containsUserName' }], user: null });

    // Bad requests.
    expectErrorCode(
      await evaluate({ password: 'x', userId: target.id, userPrincipalName: 'a@example.com' }),
      400,
      7700001,
    );
    expectErrorCode(await evaluate({ password: 'x', checkHistory: true }), 400, 7700001);
    expectErrorCode(
      await evaluate({ password: 'x', userId: '5d0c7a51-7f7e-4a47-9b8e-2d3c6f0a1b2c' }),
      404,
      7700008,
    );
    expectErrorCode(await evaluate({ password: 'x', extra: 1 }), 400, 7700001);
    expectErrorCode(await evaluate({ userId: target.id }), 400, 7700001);

    // Nothing stored by a dry run without history: no operation, no audit row, no history entry.
    const correlation = `dry-run-${dialect}`;
    const before = await rekey.db.kysely.selectFrom('password_history').select('id').execute();
    const dry = await evaluate({ password: 'Cobalt-Meadow-62!', userId: target.id }, admin, correlation);
    expect(dry.json()).toMatchObject({ valid: true, failures: [], user: { id: target.id, exists: true } });
    expect(await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlation)).toEqual([]);
    expect(await rekey.db.kysely.selectFrom('password_history').select('id').execute()).toHaveLength(
      before.length,
    );
    expect(
      await rekey.db.kysely
        .selectFrom('password_operations')
        .select('id')
        .where('user_id', '=', target.id)
        .execute(),
    ).toEqual([]);
  });

  it('generates a reset password that the tenant policy accepts, as long as it asks', async () => {
    await patchSettings('passwordPolicy', { minLength: 24 });
    const user = await rekey.createUser(alias('generated'), 'Saffron-Ridge-19-Longer!', profile);
    const response = await call(
      'POST',
      `/v1.0/users/${user.id}/authentication/methods/${passwordMethodId}/resetPassword`,
      admin,
      {},
    );
    expect(response.statusCode, response.body).toBe(202);
    const generated = response.json<{ newPassword: string }>().newPassword;
    expect(generated).toHaveLength(24);
    expect((await evaluate({ password: generated, userId: user.id })).json()).toMatchObject({ valid: true });
  });

  it('lets DisableStrongPassword lift the character-category rule only', async () => {
    const relaxed = await rekey.createUser(alias('relaxed'), initial, {
      ...profile,
      passwordPolicies: 'DisableStrongPassword',
    });
    const lower = (await evaluate({ password: 'zqvmrtkplwxj', userId: relaxed.id })).json();
    expect(lower).toMatchObject({ valid: true });
    expect(lower.rulesChecked).not.toContain('characterCategories');
    const short = (await evaluate({ password: 'zqvmrt', userId: relaxed.id })).json();
    expect(short).toMatchObject({ valid: false, failures: [{ rule: 'length' }] });
  });

  it('reads the settings once per version: the engine reuses one compiled matcher until they change', async () => {
    const first = await rekey.settings.getPolicySettings();
    const again = await rekey.settings.getPolicySettings();
    expect(again).toBe(first);
    const matcher = rekey.policyEngine.matcherFor(first.passwordProtection, tenantName);
    expect(rekey.policyEngine.matcherFor(again.passwordProtection, tenantName)).toBe(matcher);
    await patchSettings('passwordProtection', { customBannedPasswords: ['zorbex'] });
    const changed = await rekey.settings.getPolicySettings();
    expect(changed).not.toBe(first);
    expect(rekey.policyEngine.matcherFor(changed.passwordProtection, tenantName)).not.toBe(matcher);
    expect(changed.passwordPolicy).toEqual(applyPasswordPolicyPatch(defaultPasswordPolicySettings, {}));
  });
});
