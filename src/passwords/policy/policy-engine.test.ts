import { describe, expect, it } from 'vitest';
import { createArgon2Hasher, type PasswordHasher } from '../../platform/crypto/password-hasher.js';
import { RekeyError } from '../../platform/errors/rekey-error.js';
import {
  assertPolicySatisfied,
  type BreachedPasswordSet,
  createPolicyEngine,
  type PolicyEvaluation,
  type PolicyInput,
  type PolicySettings,
  policyErrorFor,
} from './policy-engine.js';
import { type PolicyRuleId, policyRuleCodes } from './rules.js';
import {
  applyPasswordPolicyPatch,
  applyPasswordProtectionPatch,
  defaultPasswordPolicySettings,
  defaultPasswordProtectionSettings,
  type PasswordPolicyPatch,
  type PasswordProtectionPatch,
} from './settings.js';

const breachedPasswords = new Set(['Correct-Horse-42']);
const breached: BreachedPasswordSet = { has: (password) => breachedPasswords.has(password) };
/** For tests that never reach the history rule: any verify is a test bug. */
const noHasher: Pick<PasswordHasher, 'verify'> = {
  verify: () => Promise.reject(new Error('verify must not be called here')),
};

const engine = createPolicyEngine({ hasher: noHasher, breached });
const now = new Date('2025-06-01T12:00:00.000Z');
const dana = {
  userPrincipalName: 'Dana.Whitfield@example.com',
  displayName: 'Dana Whitfield',
  givenName: 'Dana',
  surname: 'Whitfield',
  passwordPolicies: null,
};

function settingsWith(
  policy: PasswordPolicyPatch = {},
  protection: PasswordProtectionPatch = {},
): PolicySettings {
  return {
    passwordPolicy: applyPasswordPolicyPatch(defaultPasswordPolicySettings, policy),
    passwordProtection: applyPasswordProtectionPatch(defaultPasswordProtectionSettings, protection),
  };
}

function input(password: string, extra: Partial<PolicyInput> = {}): PolicyInput {
  return {
    password,
    operation: 'change',
    subject: dana,
    tenantName: 'Fabrikam',
    settings: settingsWith(),
    now,
    ...extra,
  };
}

function failedRules(evaluation: PolicyEvaluation): PolicyRuleId[] {
  return evaluation.failures.map((f) => f.rule);
}

describe('policy engine: one table row per rule', () => {
  it('accepts a long, mixed password and says which rules it applied', () => {
    const result = engine.evaluateWithoutHistory(input('Copper-kettle-sings'));
    expect(result.valid).toBe(true);
    expect(result.failures).toEqual([]);
    expect(result.rulesChecked).toEqual([
      'unsupportedCharacters',
      'length',
      'characterCategories',
      'containsUserName',
      'passwordProtection',
      'breached',
    ]);
  });

  it.each<[PolicyRuleId, 120002 | 120003 | 120018, string]>([
    ['unsupportedCharacters', 120002, 'Copper-kettle-sïngs'],
    ['unsupportedCharacters', 120002, 'Copper-kettle\tsings'],
    ['length', 120002, 'Kx7#qmZ'],
    ['length', 120002, `Kx7#${'qmZ'.repeat(85)}`],
    ['characterCategories', 120002, 'quietharborlights'],
    ['characterCategories', 120002, 'quiet harbor lights'],
    ['containsUserName', 120003, 'Whitfi3ld-Copper'],
    ['containsUserName', 120003, 'D@na-Copper-Kettle'],
    ['passwordProtection', 120018, 'P@ssw0rd2024!'],
    ['breached', 120002, 'Correct-Horse-42'],
  ])('fails %s with %i and nothing else (row %#)', (rule, code, password) => {
    const result = engine.evaluateWithoutHistory(input(password));
    expect(result.valid).toBe(false);
    expect(result.failures).toEqual([{ rule, code, message: expect.any(String) }]);
    expect(policyRuleCodes[rule]).toBe(code);
  });

  it('counts the length bounds inclusively, with the configured limits', () => {
    const settings = settingsWith({ minLength: 10, maxLength: 12 });
    expect(failedRules(engine.evaluateWithoutHistory(input('Mk8#vq2$T', { settings })))).toEqual(['length']);
    expect(failedRules(engine.evaluateWithoutHistory(input('Mk8#vq2$Tz', { settings })))).toEqual([]);
    expect(failedRules(engine.evaluateWithoutHistory(input('Mk8#vq2$Tzwy', { settings })))).toEqual([]);
    expect(failedRules(engine.evaluateWithoutHistory(input('Mk8#vq2$Tzwyx', { settings })))).toEqual([
      'length',
    ]);
    expect(engine.evaluateWithoutHistory(input('Mk8#', { settings })).failures[0]?.message).toBe(
      'The password must be 10 to 12 characters long.',
    );
  });

  it('counts length in characters, so an emoji is one', () => {
    const result = engine.evaluateWithoutHistory(
      input('Mk8#vq2🙂', { settings: settingsWith({ minLength: 8 }) }),
    );
    expect(failedRules(result)).toEqual(['unsupportedCharacters']);
  });

  it('honours requiredCategories, with space and every listed symbol counting as a symbol', () => {
    const four = settingsWith({ requiredCategories: 4 });
    expect(
      failedRules(engine.evaluateWithoutHistory(input('Copper-kettle-sings', { settings: four }))),
    ).toEqual(['characterCategories']);
    expect(
      failedRules(engine.evaluateWithoutHistory(input('Copper kettle 9ings', { settings: four }))),
    ).toEqual([]);
    const one = settingsWith({ requiredCategories: 1 });
    expect(failedRules(engine.evaluateWithoutHistory(input('quietharborlights', { settings: one })))).toEqual(
      [],
    );
  });

  it('reports every failing rule at once, in rule order', () => {
    const result = engine.evaluateWithoutHistory(input('d@na'));
    expect(failedRules(result)).toEqual([
      'length',
      'characterCategories',
      'containsUserName',
      'passwordProtection',
    ]);
  });

  it('checks a password with no user named (a dry run)', () => {
    const result = engine.evaluateWithoutHistory(
      input('Whitfi3ld-Copper', { subject: {}, operation: 'evaluate' }),
    );
    expect(result.valid).toBe(true);
  });
});

describe('Password Protection in the engine', () => {
  const documented = createPolicyEngine({ hasher: noHasher, breached, globalBannedTerms: ['blank'] });
  const contoso = settingsWith({}, { customBannedPasswords: ['contoso'] });

  it('rejects "C0ntos0Blank12" (4 points) with 120018 and accepts "ContoS0Bl@nkf9!" (5 points)', () => {
    const rejected = documented.evaluateWithoutHistory(input('C0ntos0Blank12', { settings: contoso }));
    expect(rejected.failures).toEqual([
      {
        rule: 'passwordProtection',
        code: 120018,
        message:
          'The password is too easy to guess: it scores 4 of the 5 points needed. Common words, banned terms and ' +
          'names count 1 point each, however long; every other character counts 1.',
      },
    ]);
    expect(rejected.passwordProtection).toEqual({
      score: 4,
      required: 5,
      matchedTerms: ['contoso', 'blank'],
      matchedSources: ['global', 'custom'],
      mode: 'Enforced',
      enabled: true,
      passed: false,
      auditOnly: false,
    });
    expect(policyErrorFor(rejected)?.code).toBe(120018);

    const accepted = documented.evaluateWithoutHistory(input('ContoS0Bl@nkf9!', { settings: contoso }));
    expect(accepted.valid).toBe(true);
    expect(accepted.passwordProtection).toMatchObject({ score: 5, passed: true, auditOnly: false });
  });

  it('rejects "p0LL23fb" for a user named Poll with 120003', () => {
    const poll = { displayName: 'Poll', givenName: 'Poll', userPrincipalName: 'pb@example.com' };
    const result = documented.evaluateWithoutHistory(input('p0LL23fb', { subject: poll }));
    expect(result.failures).toEqual([
      { rule: 'containsUserName', code: 120003, message: expect.any(String) },
    ]);
    expect(result.passwordProtection).toMatchObject({
      score: 5,
      matchedTerms: ['poll'],
      matchedSources: ['userName'],
    });
    expect(policyErrorFor(result)?.code).toBe(120003);
  });

  it('in Audit mode accepts the password and flags the would-be failure', () => {
    const audit = settingsWith({}, { customBannedPasswords: ['contoso'], mode: 'Audit' });
    const result = documented.evaluateWithoutHistory(input('C0ntos0Blank12', { settings: audit }));
    expect(result.valid).toBe(true);
    expect(result.failures).toEqual([]);
    expect(result.passwordProtection).toMatchObject({
      score: 4,
      mode: 'Audit',
      passed: false,
      auditOnly: true,
    });
    expect(result.rulesChecked).toContain('passwordProtection');

    const fine = documented.evaluateWithoutHistory(input('ContoS0Bl@nkf9!', { settings: audit }));
    expect(fine.passwordProtection).toMatchObject({ mode: 'Audit', passed: true, auditOnly: false });
  });

  it('when disabled, neither fails nor flags, but still shows the score', () => {
    const off = settingsWith({}, { customBannedPasswords: ['contoso'], enabled: false });
    const result = documented.evaluateWithoutHistory(input('C0ntos0Blank12', { settings: off }));
    expect(result.valid).toBe(true);
    expect(result.passwordProtection).toMatchObject({
      score: 4,
      enabled: false,
      passed: false,
      auditOnly: false,
    });
    expect(result.rulesChecked).not.toContain('passwordProtection');
    const offAudit = settingsWith({}, { customBannedPasswords: ['contoso'], enabled: false, mode: 'Audit' });
    const silent = documented.evaluateWithoutHistory(input('C0ntos0Blank12', { settings: offAudit }));
    expect(silent.passwordProtection).toMatchObject({ mode: 'Audit', enabled: false, auditOnly: false });
  });

  it('matches the tenant name only when checkTenantName is on', () => {
    const password = 'Fabrikam-2024';
    const on = engine.evaluateWithoutHistory(input(password));
    expect(on.passwordProtection).toMatchObject({ score: 3, matchedTerms: ['fabrikam', '2024'] });
    expect(failedRules(on)).toEqual(['passwordProtection']);
    const off = engine.evaluateWithoutHistory(
      input(password, { settings: settingsWith({}, { checkTenantName: false }) }),
    );
    expect(off.passwordProtection.matchedTerms).toEqual(['2024']);
    expect(off.valid).toBe(true);
  });

  it('compiles once per settings version and reuses the matcher', () => {
    const settings = settingsWith({}, { customBannedPasswords: ['rocket'] });
    const first = engine.matcherFor(settings.passwordProtection, 'Fabrikam');
    expect(engine.matcherFor(settings.passwordProtection, 'Fabrikam')).toBe(first);
    // A fresh object with the same content (settings re-read per request) hits the cache too.
    const reread = settingsWith({}, { customBannedPasswords: ['rocket'] });
    expect(engine.matcherFor(reread.passwordProtection, 'Fabrikam')).toBe(first);
    expect(engine.matcherFor(settings.passwordProtection, 'Contoso')).not.toBe(first);
    const changed = settingsWith({}, { customBannedPasswords: ['rocket', 'planet'] });
    expect(engine.matcherFor(changed.passwordProtection, 'Fabrikam')).not.toBe(first);
    // A precompiled matcher given in the input is used as is.
    const result = engine.evaluateWithoutHistory(
      input('Rocket-Kettle-9', { settings: changed, matcher: first }),
    );
    expect(result.passwordProtection.matchedTerms).toEqual(['rocket']);
  });
});

describe('DisableStrongPassword', () => {
  const relaxed = { ...dana, passwordPolicies: 'DisableStrongPassword' };

  it('lifts the character-category rule only', () => {
    const result = engine.evaluateWithoutHistory(input('quietharborlights', { subject: relaxed }));
    expect(result.valid).toBe(true);
    expect(result.rulesChecked).not.toContain('characterCategories');
    expect(failedRules(engine.evaluateWithoutHistory(input('quietharborlights')))).toEqual([
      'characterCategories',
    ]);
  });

  it('keeps length, names, Password Protection, breached and the character set', () => {
    const check = (password: string) =>
      failedRules(engine.evaluateWithoutHistory(input(password, { subject: relaxed })));
    expect(check('kettle')).toEqual(['length']);
    expect(check('whitfieldharbor')).toEqual(['containsUserName']);
    expect(check('password2024')).toEqual(['passwordProtection']);
    expect(check('Correct-Horse-42')).toEqual(['breached']);
    expect(check('quietharborlïghts')).toEqual(['unsupportedCharacters']);
  });

  it('is read from a passwordPolicies string holding both flags', () => {
    const both = { ...dana, passwordPolicies: 'DisablePasswordExpiration, DisableStrongPassword' };
    expect(engine.evaluateWithoutHistory(input('quietharborlights', { subject: both })).valid).toBe(true);
  });
});

describe('history', () => {
  const argon2 = createArgon2Hasher({ memoryKib: 1024, iterations: 1, parallelism: 1 });
  let verifies = 0;
  const counting: Pick<PasswordHasher, 'verify'> = {
    verify: (phc, password) => {
      verifies += 1;
      return argon2.verify(phc, password);
    },
  };
  const historyEngine = createPolicyEngine({ hasher: counting, breached });
  const passwords = ['Current-Kettle-3', 'Older-Harbor-2', 'Oldest-Lantern-1'];
  const hashesPromise = Promise.all(passwords.map((p) => argon2.hash(p)));

  async function run(password: string, extra: Partial<PolicyInput>) {
    verifies = 0;
    const result = await historyEngine.evaluate(
      input(password, { history: { hashes: await hashesPromise }, ...extra }),
    );
    return { rules: failedRules(result), verifies, result };
  }

  it('on a change blocks the current password by default (1 entry, 1 verify)', async () => {
    const reuse = await run('Current-Kettle-3', {});
    expect(reuse.rules).toEqual(['history']);
    expect(reuse.result.failures[0]).toEqual({
      rule: 'history',
      code: 120002,
      message: 'The new password must differ from the current password.',
    });
    expect(reuse.verifies).toBe(1);
    // An older password is beyond the default depth of 1 and is not even verified.
    expect(await run('Older-Harbor-2', {})).toMatchObject({ rules: [], verifies: 1 });
  });

  it('checks as many entries as historyCountOnChange says, newest first, stopping at a match', async () => {
    const settings = settingsWith({ historyCountOnChange: 3 });
    expect(await run('Oldest-Lantern-1', { settings })).toMatchObject({ rules: ['history'], verifies: 3 });
    expect(await run('Older-Harbor-2', { settings })).toMatchObject({ rules: ['history'], verifies: 2 });
    expect(await run('Brand-New-Lantern-7', { settings })).toMatchObject({ rules: [], verifies: 3 });
    const two = settingsWith({ historyCountOnChange: 2 });
    expect(await run('Oldest-Lantern-1', { settings: two })).toMatchObject({ rules: [], verifies: 2 });
    expect((await run('Oldest-Lantern-1', { settings })).result.failures[0]?.message).toBe(
      'The new password must differ from the last 3 passwords, the current one included.',
    );
  });

  it('uses the plain current password instead of verifying the newest hash', async () => {
    const same = await run('Current-Kettle-3', { currentPassword: 'Current-Kettle-3' });
    expect(same).toMatchObject({ rules: ['history'], verifies: 0 });
    const settings = settingsWith({ historyCountOnChange: 2 });
    const older = await run('Older-Harbor-2', { currentPassword: 'Current-Kettle-3', settings });
    expect(older).toMatchObject({ rules: ['history'], verifies: 1 });
    // Without stored hashes the plain comparison still catches the current password.
    verifies = 0;
    const bare = await historyEngine.evaluate(
      input('Current-Kettle-3', { currentPassword: 'Current-Kettle-3' }),
    );
    expect(failedRules(bare)).toEqual(['history']);
  });

  it('is off with historyCountOnChange 0', async () => {
    const settings = settingsWith({ historyCountOnChange: 0 });
    const result = await run('Current-Kettle-3', { settings, currentPassword: 'Current-Kettle-3' });
    expect(result).toMatchObject({ rules: [], verifies: 0 });
    expect(result.result.rulesChecked).not.toContain('history');
  });

  it('lets a reset reuse the current password by default, and follows historyCountOnReset', async () => {
    expect(await run('Current-Kettle-3', { operation: 'reset' })).toMatchObject({ rules: [], verifies: 0 });
    const settings = settingsWith({ historyCountOnReset: 2 });
    expect(await run('Older-Harbor-2', { operation: 'reset', settings })).toMatchObject({
      rules: ['history'],
      verifies: 2,
    });
  });

  it('never applies to a new account', async () => {
    const settings = settingsWith({ historyCountOnChange: 3, historyCountOnReset: 3 });
    expect(await run('Current-Kettle-3', { operation: 'create', settings })).toMatchObject({
      rules: [],
      verifies: 0,
    });
  });

  it('is skipped by evaluateWithoutHistory and joins the other failures in evaluate', async () => {
    const hashes = await hashesPromise;
    verifies = 0;
    const sync = historyEngine.evaluateWithoutHistory(input('Current-Kettle-3', { history: { hashes } }));
    expect(sync.valid).toBe(true);
    expect(sync.rulesChecked).not.toContain('history');
    expect(verifies).toBe(0);
    const settings = settingsWith({ minLength: 20, minimumAgeDays: 2 });
    const all = await historyEngine.evaluate(
      input('Current-Kettle-3', { history: { hashes }, settings, passwordSetAt: '2025-06-01T00:00:00.000Z' }),
    );
    expect(failedRules(all)).toEqual(['length', 'history', 'minimumAge']);
  });
});

describe('minimum age', () => {
  const settings = settingsWith({ minimumAgeDays: 1 });
  const recent = '2025-06-01T00:00:00.000Z';

  it('blocks a change within minimumAgeDays of the last one', () => {
    const result = engine.evaluateWithoutHistory(
      input('Copper-kettle-sings', { settings, passwordSetAt: recent }),
    );
    expect(result.failures).toEqual([
      {
        rule: 'minimumAge',
        code: 120002,
        message:
          'A password must be kept at least 1 day before it is changed; this one can be changed from 2025-06-02T00:00:00.000Z.',
      },
    ]);
    expect(policyErrorFor(result)?.code).toBe(120002);
  });

  it('allows the change from the moment the minimum age is reached', () => {
    const exactly = input('Copper-kettle-sings', { settings, passwordSetAt: '2025-05-31T12:00:00.000Z' });
    expect(engine.evaluateWithoutHistory(exactly).valid).toBe(true);
    const justBefore = input('Copper-kettle-sings', { settings, passwordSetAt: '2025-05-31T12:00:00.001Z' });
    expect(failedRules(engine.evaluateWithoutHistory(justBefore))).toEqual(['minimumAge']);
  });

  it('exempts resets, new accounts and forced changes, and is off at 0 days', () => {
    const base = { settings, passwordSetAt: recent };
    expect(
      engine.evaluateWithoutHistory(input('Copper-kettle-sings', { ...base, operation: 'reset' })).valid,
    ).toBe(true);
    expect(
      engine.evaluateWithoutHistory(input('Copper-kettle-sings', { ...base, operation: 'create' })).valid,
    ).toBe(true);
    expect(
      engine.evaluateWithoutHistory(input('Copper-kettle-sings', { ...base, mustChange: true })).valid,
    ).toBe(true);
    expect(engine.evaluateWithoutHistory(input('Copper-kettle-sings', { passwordSetAt: recent })).valid).toBe(
      true,
    );
    expect(
      failedRules(
        engine.evaluateWithoutHistory(input('Copper-kettle-sings', { ...base, operation: 'evaluate' })),
      ),
    ).toEqual(['minimumAge']);
  });
});

describe('policyErrorFor', () => {
  it.each<[string, number, string, PolicyRuleId[]]>([
    ['only the name', 120003, 'Whitfi3ld-Copper', ['containsUserName']],
    ['only Password Protection', 120018, 'P@ssw0rd2024!', ['passwordProtection']],
    ['the name and Password Protection', 120002, 'Dana-2024', ['containsUserName', 'passwordProtection']],
    ['length', 120002, 'Kx7#qmZ', ['length']],
    ['breached', 120002, 'Correct-Horse-42', ['breached']],
  ])('maps a failure of %s to %i', (_name, code, password, rules) => {
    const result = engine.evaluateWithoutHistory(input(password));
    expect(failedRules(result)).toEqual(rules);
    const error = policyErrorFor(result);
    expect(error).toBeInstanceOf(RekeyError);
    expect(error?.code).toBe(code);
    expect(error?.details).toEqual({
      failures: result.failures,
      passwordProtection: result.passwordProtection,
    });
    expect(() => assertPolicySatisfied(result)).toThrow(RekeyError);
  });

  it('gives nothing for a valid password', () => {
    const result = engine.evaluateWithoutHistory(input('Copper-kettle-sings'));
    expect(policyErrorFor(result)).toBeNull();
    expect(() => assertPolicySatisfied(result)).not.toThrow();
  });
});
